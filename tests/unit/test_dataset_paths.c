/*
 * Unit tests for the importers' fast paths held against the paths they
 * replaced and fall back to (issue 13): on every input both must give the
 * same result: the same prepared bytes, counts and skips, or the same error.
 *
 * SQuAD (lib/dataset/squad.c): the streaming path against the tree path (the
 * whole document in jansson) on a table of valid layouts (title after the
 * paragraphs as XQuAD writes it, context after the questions as SQuAD 2.0
 * does), damaged files (every shape, field and encoding error the importer
 * words), large generated files that move and grow the window, every byte of
 * a small file mutated, and the shared datasets.
 *
 * JSONL (lib/dataset/generic.c): the scanner-and-writer path against jansson
 * per line, on a table of records under several field mappings and types,
 * and every byte of a small file mutated. CSV (same file): the writer path
 * against a jansson object per row, on a table of rows under several
 * mappings, with and without a header.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "../../lib/dataset/dataset_int.h"
#include "lleval/dataset/dataset.h"
#include "lleval/platform/fs.h"
#include "lleval/util/util.h"

struct outcome {
    int rc;
    char *msg;
    long items, records, skipped_total;
    char *skipped;
    char *out;
};

static void outcome_release(struct outcome *o)
{
    free(o->msg);
    free(o->skipped);
    free(o->out);
    memset(o, 0, sizeof(*o));
}

/* One import of path, as the prepare driver runs it, the streaming way or
 * the tree way. */
/* The JSONL and CSV mapping of a run (NULL: the default names), and whether
 * a CSV has a header row. */
static const char *const *jsonl_map;
static bool csv_header = true;

static void run_import(const char *dir, const char *path, enum lleval_item_type type, long limit,
                       bool tree, struct outcome *o)
{
    struct lleval_dataset_cfg cfg;
    bool jsonl = lleval_str_ends_with(path, ".jsonl"), csv = lleval_str_ends_with(path, ".csv");
    struct lleval_ds_builder b;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *out_path = lleval_prepared_path(dir, tree ? "tree" : "stream");

    memset(&cfg, 0, sizeof(cfg));
    cfg.name = (char *)"sq";
    cfg.format = (char *)(jsonl ? "jsonl" : csv ? "csv" : "squad");
    cfg.path = (char *)path;
    cfg.csv_header = csv_header;
    if ((jsonl || csv) && jsonl_map) {
        cfg.field_id = (char *)jsonl_map[0];
        cfg.field_question = (char *)jsonl_map[1];
        cfg.field_context = (char *)jsonl_map[2];
        cfg.field_answers = (char *)jsonl_map[3];
    }
    memset(&b, 0, sizeof(b));
    lleval_sb_init(&b.out, 0);
    lleval_sb_init(&b.seen, 0);
    lleval_sb_init(&b.where, 0);
    b.ds = &cfg;
    b.type = type;
    b.limit = limit;
    b.prepared_dir = dir;
    b.out_path = out_path;
    b.skipped = json_object();
    memset(o, 0, sizeof(*o));
    if (csv)
        o->rc = tree ? lleval_ds_import_csv_tree(&b, &err) : lleval_ds_import_csv(&b, &err);
    else if (jsonl)
        o->rc = tree ? lleval_ds_import_jsonl_tree(&b, &err) : lleval_ds_import_jsonl(&b, &err);
    else
        o->rc = tree ? lleval_ds_import_squad_tree(&b, &err) : lleval_ds_import_squad(&b, &err);
    o->msg = lleval_xstrdup(o->rc ? err.msg : "");
    o->items = b.items;
    o->records = b.records;
    o->skipped_total = b.skipped_total;
    o->skipped = json_dumps(b.skipped, JSON_COMPACT | JSON_SORT_KEYS);
    if (!o->rc && !b.af.tmp) { /* all lines still buffered: no file (and no fsync) */
        o->out = lleval_xstrdup(b.out.buf);
    } else if (!o->rc) {
        assert_int_equal(lleval_ds_flush(&b, &err), 0);
        assert_int_equal(lleval_atomic_finish(&b.af, &err), 0);
        o->out = tu_read(b.af.tmp);
        assert_non_null(o->out);
    }
    lleval_atomic_abort(&b.af);
    lleval_idset_release(&b.ids);
    lleval_sb_release(&b.seen);
    lleval_sb_release(&b.where);
    lleval_sb_release(&b.out);
    json_decref(b.skipped);
    free(out_path);
}

/* Both ways on the file at path; they must agree. Returns the stream's rc. */
static int same_both_ways(const char *dir, const char *path, enum lleval_item_type type, long limit,
                          const char *what)
{
    struct outcome s, t;
    int rc;
    run_import(dir, path, type, limit, false, &s);
    run_import(dir, path, type, limit, true, &t);
    if (s.rc != t.rc || strcmp(s.msg, t.msg) ||
        (!s.rc &&
         (s.items != t.items || s.records != t.records || s.skipped_total != t.skipped_total ||
          strcmp(s.skipped, t.skipped) || strcmp(s.out, t.out)))) {
        print_error("%s (limit %ld, type %d): the streaming and the tree path differ\n"
                    "  stream: rc %d '%s' items %ld records %ld skipped %s\n%s\n"
                    "  tree:   rc %d '%s' items %ld records %ld skipped %s\n%s\n",
                    what, limit, (int)type, s.rc, s.msg, s.items, s.records,
                    s.skipped ? s.skipped : "", s.out ? s.out : "", t.rc, t.msg, t.items, t.records,
                    t.skipped ? t.skipped : "", t.out ? t.out : "");
        fail();
    }
    rc = s.rc;
    outcome_release(&s);
    outcome_release(&t);
    return rc;
}

/* A document written with ' for " (the table stays readable). */
static char *doc(const char *s)
{
    char *d = lleval_xstrdup(s);
    for (char *p = d; *p; p++)
        if (*p == '\'')
            *p = '"';
    return d;
}

struct sq_case {
    const char *name;
    const char *text; /* ' for " */
    int want;         /* 0: prepares, 1: an error */
};

#define ART(paras) "{'data':[{'title':'T','paragraphs':[" paras "]}],'version':'1.1'}"
#define PARA(qas)  "{'context':'Ctx','qas':[" qas "]}"
#define QA1        "{'id':'q1','question':'Q1?','answers':[{'text':'a1','answer_start':0}]}"
#define QA(x)      ART(PARA(x))

static const struct sq_case cases[] = {
    /* valid layouts */
    {"title first",
     ART(PARA(QA1 ",{'id':'q2','question':'Q2','answers':[{'text':'x'},{'text':'x'}"
                  ",{'text':' '},{'text':'y','answer_start':3}]}")),
     0},
    {"xquad order",
     "{'data':[{'paragraphs':[{'context':'C1','qas':[{'answers':[{'answer_start':1,'text':'y'}],"
     "'id':'b1','question':'Q'}]},{'context':'C2','qas':[{'answers':[{'text':'z'}],'id':'b2',"
     "'question':'Q2'}]}],'title':'T2'},{'paragraphs':[{'context':'C3','qas':[{'answers':[{'text':"
     "'w'}],'id':'b3','question':'Q3'}]}],'title':'T3'}],'version':'1.1'}",
     0},
    {"squad 2.0 order",
     "{'version':'v2.0','data':[{'title':'N','paragraphs':[{'qas':[{'question':'Q','id':'c1',"
     "'answers':[{'text':'a'}],'is_impossible':false},{'plausible_answers':[{'text':'p'}],"
     "'question':'Q2','id':'c2','answers':[],'is_impossible':true}],'context':'Ctx'},{'qas':[{"
     "'question':'Q3','id':'c3','answers':[{'text':'b'}],'is_impossible':false}],'context':'C2'}]}"
     "]}",
     0},
    {"squad 2.0 found at the last question",
     ART(PARA(QA1 ",{'id':'q2','question':'Q2','answers':[],'is_impossible':true}")), 0},
    {"version 2 with no is_impossible",
     "{'version':'2.0','data':[{'title':'T','paragraphs':[" PARA(QA1) "]}]}", 0},
    {"version not a string", "{'version':2,'data':[{'title':'T','paragraphs':[" PARA(QA1) "]}]}",
     0},
    {"no title", "{'data':[{'paragraphs':[" PARA(QA1) "]}]}", 0},
    {"empty data", "{'data':[]}", 0},
    {"empty paragraphs", "{'data':[{'title':'t','paragraphs':[]}]}", 0},
    {"empty qas", ART(PARA("")), 0},
    {"no answers: skipped", QA("{'id':'q1','question':'Q','answers':[]}," QA1), 0},
    {"blank answers: skipped", QA("{'id':'q1','question':'Q','answers':[{'text':' \\n'}]}"), 0},
    {"escaped id", QA("{'id':'d\\u0031','question':'Q','answers':[{'text':'a'}]}," QA1), 0},
    {"escaped slash in id", QA("{'id':'a\\/b','question':'Q','answers':[{'text':'a'}]}"), 0},
    {"id met first as an answer",
     QA("{'answers':[{'text':'e1'}],'question':'Q','id':'e1'},\n{'id':'e2','question':'e1',"
        "'answers':[{'text':'e2'}]}"),
     0},
    {"id met first as a key",
     "{'data':[{'title':'T','paragraphs':[{'e1':\n1,'context':'C','qas':[\n{'id':'e1',"
     "'question':'Q','answers':[{'text':'a'}]}]}]}]}",
     0},
    {"id met first as a later question's id",
     "{'data':[{'title':'T','paragraphs':[{'context':'C','qas':[\n{'question':'Q','answers':[{"
     "'text':'a'}],'x':'e9','id':'e1'},\n{'id':'e9','question':'Q','answers':[{'text':'a'}]}]}]}"
     "]}",
     0},
    {"escapes in the texts",
     "{'data':[{'title':'T\\u00e9\\'','paragraphs':[{'context':'line\\nnext \\\\ \\ud83d\\ude00 "
     "\\u001f','qas':[{'id':'q1','question':'Q\\t\\u00e9?','answers':[{'text':'\\u00e9'},{'text':"
     "'\\u00c3\\u00a9'}]}]}]}]}",
     0},
    {"raw UTF-8 and CRLF",
     "{\r\n'data':[{'title':'T\xc3\xa9','paragraphs':[{'context':'\xe2\x82\xac \xf0\x9f\x98\x80',"
     "\r\n'qas':[{'id':'\xc3\xa9','question':'Q','answers':[{'text':'\xc3\xa9'}]}]}]}]}\r\n",
     0},
    {"byte order mark", "\xef\xbb\xbf" ART(PARA(QA1)), 0},
    {"escaped keys",
     "{'d\\u0061ta':[{'title':'T','paragraphs':[{'context':'C','qas':[{'i\\u0064':"
     "'q1','question':'Q','answers':[{'text':'a'}]}]}]}]}",
     0},
    {"long and unknown keys",
     "{'a_key_longer_than_twenty_three_bytes':{'x':[1,2.5e3,true,null]},'data':[{'title':'T',"
     "'another_key_longer_than_twenty_three':1,'paragraphs':[{'context':'C','qas':[{'id':'q1',"
     "'a_qa_key_that_is_longer_than_23':[{}],'question':'Q','answers':[{'text':'a','b':{}}]}]}]}]}",
     0},
    {"impossible with any answers",
     "{'version':'v2.0','data':[{'title':'T','paragraphs':[{'context':'C','qas':[{'id':'q1',"
     "'question':'Q','is_impossible':true,'answers':7},{'id':'q2','question':'Q','is_impossible':"
     "true}]}]}]}",
     0},
    {"large numbers in unknown fields",
     QA("{'id':'q1','question':'Q','n':123456789012345678901234567890,'r':1e400,'answers':[{'text':"
        "'a'}]}"),
     -1},
    /* errors the tree path words */
    {"duplicate id", QA(QA1 "," QA1), 1},
    {"duplicate id across paragraphs", ART(PARA(QA1) "," PARA(QA1)), 1},
    {"empty id", QA("{'id':'','question':'Q','answers':[{'text':'a'}]}"), 1},
    {"id a number", QA("{'id':5,'question':'Q','answers':[{'text':'a'}]}"), 1},
    {"id missing", QA("{'question':'Q','answers':[{'text':'a'}]}"), 1},
    {"question missing", QA(QA1 ",{'id':'q2','answers':[{'text':'a'}]}"), 1},
    {"question a number", QA("{'id':'q2','question':3,'answers':[{'text':'a'}]}"), 1},
    {"question blank", QA("{'id':'q2','question':' \\t','answers':[{'text':'a'}]}"), 1},
    {"answers missing", QA("{'id':'q2','question':'Q'}"), 1},
    {"answers a string", QA("{'id':'q2','question':'Q','answers':'a'}"), 1},
    {"answer a string", QA("{'id':'q2','question':'Q','answers':['a']}"), 1},
    {"answer text a number", QA("{'id':'q2','question':'Q','answers':[{'text':1}]}"), 1},
    {"answer text missing", QA("{'id':'q2','question':'Q','answers':[{'t':'a'}]}"), 1},
    {"is_impossible null", QA("{'id':'q2','question':'Q','answers':[],'is_impossible':null}"), 1},
    {"is_impossible a number", QA("{'id':'q2','question':'Q','answers':[],'is_impossible':1}"), 1},
    {"question not an object", QA(QA1 ",'q'"), 1},
    {"question an array", QA("[]"), 1},
    {"question null", QA("null"), 1},
    {"article not an object", "{'data':[1]}", 1},
    {"title a number", "{'data':[{'title':1,'paragraphs':[]}]}", 1},
    {"title after paragraphs, a number", "{'data':[{'paragraphs':[" PARA(QA1) "],'title':1}]}", 1},
    {"paragraphs missing", "{'data':[{'title':'t'}]}", 1},
    {"paragraphs an object", "{'data':[{'title':'t','paragraphs':{}}]}", 1},
    {"paragraph not an object", ART("[]"), 1},
    {"context missing", ART("{'qas':[" QA1 "]}"), 1},
    {"context a number", ART("{'context':1,'qas':[" QA1 "]}"), 1},
    {"context after the questions, a number", ART("{'qas':[" QA1 "],'context':1}"), 1},
    {"qas missing", ART("{'context':'C'}"), 1},
    {"qas an object", ART("{'context':'C','qas':{}}"), 1},
    {"no data", "{'version':'1.1'}", 1},
    {"data an object", "{'data':{}}", 1},
    {"a list at the top", "[{'data':[]}]", 1},
    {"a string at the top", "'data'", 1},
    {"trailing text", ART(PARA(QA1)) " x", 1},
    {"two documents", ART(PARA(QA1)) ART(PARA(QA1)), 1},
    {"truncated", "{'data':[{'title':'T','paragraphs':[{'context':'C','qas':[" QA1, 1},
    {"empty file", "", 0},
    {"blank file", " \n\t\n", 0},
    {"duplicate key at the top", "{'data':[],'data':[]}", 1},
    {"duplicate key in an article", "{'data':[{'title':'a','title':'b','paragraphs':[]}]}", 1},
    {"duplicate key in a paragraph", ART("{'context':'a','context':'b','qas':[]}"), 1},
    {"duplicate key in a question", QA("{'id':'q1','id':'q2','question':'Q','answers':[]}"), 1},
    {"duplicate key in an answer",
     QA("{'id':'q1','question':'Q','answers':[{'text':'a','text':'b'}"
        "]}"),
     1},
    {"invalid UTF-8 in a string", QA("{'id':'q1','question':'Q\xff','answers':[]}"), 1},
    {"invalid UTF-8 outside", ART(PARA(QA1)) "\xc3", 1},
    {"overlong UTF-8", QA("{'id':'q1','question':'Q\xc0\xaf','answers':[]}"), 1},
    {"\\u0000 in a question", QA("{'id':'q1','question':'Q\\u0000','answers':[{'text':'a'}]}"), 1},
    {"lone surrogate", QA("{'id':'q1','question':'Q\\ud800','answers':[{'text':'a'}]}"), 1},
    {"raw tab in a string", QA("{'id':'q1','question':'Q\t','answers':[{'text':'a'}]}"), 1},
    {"bad escape", QA("{'id':'q1','question':'Q\\x','answers':[{'text':'a'}]}"), 1},
    {"trailing comma", QA(QA1 ","), 1},
};

static void test_cases(void **state)
{
    char *dir = tu_tmpdir();
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char *text = doc(cases[i].text);
        char *path = tu_write(dir, "in.json", text);
        int rc;
        rc = same_both_ways(dir, path, LLEVAL_OPEN_BOOK, 0, cases[i].name);
        if (cases[i].want >= 0 && (rc != 0) != (cases[i].want == 1)) {
            print_error("%s: rc %d, expected %s\n", cases[i].name, rc,
                        cases[i].want ? "an error" : "success");
            fail();
        }
        same_both_ways(dir, path, LLEVAL_CLOSED_BOOK, 0, cases[i].name);
        for (long limit = 1; limit <= 3; limit++)
            same_both_ways(dir, path, LLEVAL_OPEN_BOOK, limit, cases[i].name);
        free(path);
        free(text);
    }
    tu_rmtree(dir);
    free(dir);
}

/* Articles of paragraphs of questions, in one of three member orders, with
 * contexts of ctx_len bytes: large enough to move and grow the window. */
static char *big_doc(int order, int articles, int paras, int qas, size_t ctx_len, const char *tail)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    int n = 0;
    lleval_sb_adds(&sb, order == 2 ? "{\"version\": \"v2.0\", \"data\": [\n" : "{\"data\": [\n");
    for (int a = 0; a < articles; a++) {
        lleval_sb_adds(&sb, a ? ",\n  {" : "  {");
        if (order != 1)
            lleval_sb_addf(&sb, "\"title\": \"Article %d\", ", a);
        lleval_sb_adds(&sb, "\"paragraphs\": [");
        for (int p = 0; p < paras; p++) {
            struct lleval_sb ctx = LLEVAL_SB_INIT;
            lleval_sb_adds(&sb, p ? ",\n    {" : "\n    {");
            for (size_t k = 0; ctx.len < ctx_len; k++)
                lleval_sb_addf(&ctx, "word%zu %s", k, k % 7 ? "" : "\\\"q\\\" \\u00e9 ");
            if (order != 2)
                lleval_sb_addf(&sb, "\"context\": \"%s\", ", ctx.buf);
            lleval_sb_adds(&sb, "\"qas\": [");
            for (int q = 0; q < qas; q++, n++) {
                lleval_sb_addf(&sb,
                               "%s\n      {\"id\": \"id%06d\", \"question\": \"Question %d about "
                               "word%d?\", \"answers\": [{\"text\": \"word%d\", \"answer_start\": "
                               "%d}, {\"text\": \"w%d\"}]",
                               q ? "," : "", n, n, q, q, q * 3, n % 3);
                if (order == 2)
                    lleval_sb_addf(&sb, ", \"is_impossible\": %s", n % 4 ? "false" : "true");
                lleval_sb_adds(&sb, "}");
            }
            lleval_sb_adds(&sb, "]");
            if (order == 2)
                lleval_sb_addf(&sb, ", \"context\": \"%s\"", ctx.buf);
            lleval_sb_adds(&sb, "}");
            lleval_sb_release(&ctx);
        }
        lleval_sb_adds(&sb, "]");
        if (order == 1)
            lleval_sb_addf(&sb, ", \"title\": \"Article %d\"", a);
        lleval_sb_adds(&sb, "}");
    }
    lleval_sb_addf(&sb, "\n]%s}\n", order == 1 ? ", \"version\": \"1.1\"" : "");
    lleval_sb_adds(&sb, tail);
    return lleval_sb_detach(&sb, NULL);
}

static void test_large(void **state)
{
    char *dir = tu_tmpdir();
    (void)state;
    for (int order = 0; order < 3; order++) {
        /* many small paragraphs (the window moves), then huge contexts (it grows) */
        const struct {
            int articles, paras, qas;
            size_t ctx;
            const char *tail;
        } shapes[] = {{4, 30, 6, 2000, ""},
                      {2, 3, 2, 300000, ""},
                      {1, 2, 900, 100, ""},
                      {3, 20, 5, 3000, "x"},
                      {3, 20, 5, 3000, "\n\n"}};
        for (size_t k = 0; k < sizeof(shapes) / sizeof(*shapes); k++) {
            char *text = big_doc(order, shapes[k].articles, shapes[k].paras, shapes[k].qas,
                                 shapes[k].ctx, shapes[k].tail);
            char *path = tu_write(dir, "big.json", text);
            char what[64];
            int rc;
            snprintf(what, sizeof(what), "large, order %d, shape %zu", order, k);
            rc = same_both_ways(dir, path, LLEVAL_OPEN_BOOK, 0, what);
            assert_int_equal(rc != 0, *shapes[k].tail == 'x');
            same_both_ways(dir, path, LLEVAL_OPEN_BOOK, 7, what);
            same_both_ways(dir, path, LLEVAL_CLOSED_BOOK, 0, what);
            if (!*shapes[k].tail) { /* a duplicate id at the very end */
                char *dup = strstr(text, "\"id000001\"");
                char *last = NULL;
                for (char *p = strstr(text, "\"id0"); p; p = strstr(p + 1, "\"id0"))
                    last = p;
                assert_non_null(dup);
                memcpy(last, dup, 10);
                free(path);
                path = tu_write(dir, "big.json", text);
                assert_int_not_equal(same_both_ways(dir, path, LLEVAL_OPEN_BOOK, 0, what), 0);
            }
            free(path);
            free(text);
        }
    }
    tu_rmtree(dir);
    free(dir);
}

/* Every byte of a small file replaced, deleted, doubled and cut after. */
static void test_mutations(void **state)
{
    static const char base[] =
        "{'data':[{'paragraphs':[{'qas':[{'id':'m1','question':'Q \\u00e9?','answers':[{'text':"
        "'a'},{'text':'b','answer_start':2}]},{'id':'m2','question':'Q2','answers':[],"
        "'is_impossible':true}],'context':'Ctx \\'x\\''},{'context':'C','qas':[{'answers':[{'text':"
        "'c'}],'id':'m3','question':'Q3','is_impossible':false}]}],'title':'T'}],'version':'v2.0'}";
    static const unsigned char repl[] = {'"', '\\', '{', '}', '[',  ']',  ',',  ':', '1',
                                         ' ', 'a',  'e', 't', '\n', 0xC3, 0xFF, 0x00};
    char *dir = tu_tmpdir();
    char *text = doc(base);
    size_t len = strlen(text);
    unsigned char *m = lleval_xmalloc(len + 2);
    int errors = 0, ok = 0;
    (void)state;
    for (size_t i = 0; i < len; i++) {
        for (size_t r = 0; r < sizeof(repl) + 3; r++) {
            size_t n = len;
            char *path, what[64];
            memcpy(m, text, len);
            if (r < sizeof(repl)) {
                if (m[i] == repl[r])
                    continue;
                m[i] = repl[r];
            } else if (r == sizeof(repl)) { /* delete */
                memmove(m + i, m + i + 1, len - i - 1);
                n = len - 1;
            } else if (r == sizeof(repl) + 1) { /* double */
                memmove(m + i + 1, m + i, len - i);
                n = len + 1;
            } else { /* cut */
                n = i;
            }
            path = tu_write_bytes(dir, "m.json", m, n);
            snprintf(what, sizeof(what), "mutation %zu at byte %zu", r, i);
            if (same_both_ways(dir, path, LLEVAL_OPEN_BOOK, i % 3, what))
                errors++;
            else
                ok++;
            free(path);
        }
    }
    /* both kinds were met */
    assert_true(errors > 100);
    assert_true(ok > 100);
    free(m);
    free(text);
    tu_rmtree(dir);
    free(dir);
}

/* The shared SQuAD-format datasets, whole and cut short. */
static void test_shared(void **state)
{
    const char *rel[] = {"datasets/xquad/xquad.en.json", "datasets/squad_v2/dev-v2.0-normans.json"};
    char *dir = tu_tmpdir();
    (void)state;
    for (size_t i = 0; i < sizeof(rel) / sizeof(*rel); i++) {
        char *path = tu_shared(rel[i]);
        if (!path) {
            print_message("skipping %s: not present\n", rel[i]);
            continue;
        }
        assert_int_equal(same_both_ways(dir, path, LLEVAL_OPEN_BOOK, 0, rel[i]), 0);
        assert_int_equal(same_both_ways(dir, path, LLEVAL_CLOSED_BOOK, 0, rel[i]), 0);
        assert_int_equal(same_both_ways(dir, path, LLEVAL_OPEN_BOOK, 100, rel[i]), 0);
        free(path);
    }
    tu_rmtree(dir);
    free(dir);
}

/* ---- JSONL ---- */

static const char *const jsonl_lines[] = {
    "{'id':'a','question':'Q','answers':['x','x',' ','y'],'context':'C'}",
    "{'question':'Q \\u00e9\\n\\'','answers':'x','context':'C \\\\ \\/'}",
    "{'id':5,'question':'Q','answers':'x','context':'C'}",
    "{'id':-0,'question':'Q','answers':'x','context':'C'}",
    "{'id':null,'question':'Q','answers':'x','context':'C'}",
    "{'id':'','question':'Q','answers':'x','context':'C'}",
    "{'id':' ','question':'Q','answers':'x','context':'C'}",
    "{'id':1.5,'question':'Q','answers':'x','context':'C'}",
    "{'id':true,'question':'Q','answers':'x','context':'C'}",
    "{'id':[],'question':'Q','answers':'x','context':'C'}",
    "{'id':12345678901234567890,'question':'Q','answers':'x','context':'C'}",
    "{'id':123456789012345678,'question':'Q','answers':'x','context':'C'}",
    "{'answers':'x','context':'C'}",
    "{'question':3,'answers':'x','context':'C'}",
    "{'question':' ','answers':'x','context':'C'}",
    "{'question':null,'answers':'x','context':'C'}",
    "{'question':'Q','answers':'x'}",
    "{'question':'Q','answers':'x','context':2}",
    "{'question':'Q','context':'C'}",
    "{'question':'Q','answers':3,'context':'C'}",
    "{'question':'Q','answers':['a',3],'context':'C'}",
    "{'question':'Q','answers':[],'context':'C'}",
    "{'question':'Q','answers':[' ',''],'context':'C'}",
    "{'question':'Q','answers':' ','context':'C'}",
    "{'question':'Q','answers':'x','context':'C','question':'R'}",
    "{'question':'Q','answers':'x','context':'C','extra':{'deep':[1,{'a':null}]}}",
    "{'qid':'k1','q':'Q','a':['x'],'ctx':'C'}",
    "{'qid':7,'q':'Q','a':'x','ctx':'C','id':'ignored'}",
    "{'qid':'k1','q':'Q','a':['x'],'ctx':'C'}",
    "{'question':'Q','answers':'x','context':'C'",
    "{'question':'Q','answers':'x','context':'C'} x",
    "['question']",
    "{'question':'Q\xff','answers':'x','context':'C'}",
    "{'question':'Q\\u0000','answers':'x','context':'C'}",
    "{'question':'Q\t','answers':'x','context':'C'}",
    "\xef\xbb\xbf{'question':'Q','answers':'x','context':'C'}",
    "{'id':'a','question':'Q','answers':'x','context':'C'}",
};

static void test_jsonl(void **state)
{
    static const char *const maps[][4] = {{"qid", "q", "ctx", "a"},
                                          {"id", "question", "context", "a_field_name_of_24_bytes"},
                                          {"question", "question", "context", "answers"}};
    char *dir = tu_tmpdir();
    size_t n = sizeof(jsonl_lines) / sizeof(*jsonl_lines);
    (void)state;
    /* each line alone (as line 1 and line 3), then the lines that succeed together */
    for (size_t map = 0; map <= 3; map++) {
        jsonl_map = map ? maps[map - 1] : NULL;
        for (size_t i = 0; i < n; i++) {
            char *line = doc(jsonl_lines[i]);
            char *text = lleval_xasprintf("%s\n\n%s\n%s", line, line, i % 2 ? "" : "\n");
            char *path = tu_write(dir, "in.jsonl", text + (i % 3 == 0 ? 0 : strlen(line) + 2));
            char what[64];
            snprintf(what, sizeof(what), "jsonl line %zu, mapping %zu", i, map);
            for (int type = 0; type < 2; type++)
                same_both_ways(dir, path, type ? LLEVAL_OPEN_BOOK : LLEVAL_CLOSED_BOOK, 0, what);
            same_both_ways(dir, path, LLEVAL_OPEN_BOOK, 1, what);
            free(path);
            free(text);
            free(line);
        }
        {
            struct lleval_sb all = LLEVAL_SB_INIT;
            char *path;
            for (size_t i = 0; i < n; i++) {
                char *line = doc(jsonl_lines[i]);
                lleval_sb_addf(&all, "%s\n", line);
                free(line);
            }
            path = tu_write(dir, "all.jsonl", all.buf);
            same_both_ways(dir, path, LLEVAL_OPEN_BOOK, 0, "jsonl, all lines");
            same_both_ways(dir, path, LLEVAL_MULTIPLE_CHOICE, 0, "jsonl, all lines");
            free(path);
            lleval_sb_release(&all);
        }
    }
    jsonl_map = NULL;
    tu_rmtree(dir);
    free(dir);
}

static void test_jsonl_mutations(void **state)
{
    static const char base[] =
        "{'id':'m1','question':'Q \\u00e9?','answers':['a','b'],'context':'C'}\n"
        "{'id':2,'question':'Q2','answers':'x','context':'C\\'x\\''}\n\n"
        "{'question':'Q3','answers':[],'context':''}\n";
    static const unsigned char repl[] = {'"', '\\', '{', '}', '[',  ']',  ',',  ':',
                                         '1', ' ',  'a', 'n', '\n', 0xC3, 0xFF, 0x00};
    char *dir = tu_tmpdir();
    char *text = doc(base);
    size_t len = strlen(text);
    unsigned char *m = lleval_xmalloc(len + 2);
    (void)state;
    for (size_t i = 0; i < len; i++) {
        for (size_t r = 0; r < sizeof(repl) + 2; r++) {
            size_t k = len;
            char *path, what[64];
            memcpy(m, text, len);
            if (r < sizeof(repl)) {
                if (m[i] == repl[r])
                    continue;
                m[i] = repl[r];
            } else if (r == sizeof(repl)) {
                memmove(m + i, m + i + 1, len - i - 1);
                k = len - 1;
            } else {
                k = i;
            }
            path = tu_write_bytes(dir, "m.jsonl", m, k);
            snprintf(what, sizeof(what), "jsonl mutation %zu at byte %zu", r, i);
            same_both_ways(dir, path, i % 2 ? LLEVAL_OPEN_BOOK : LLEVAL_CLOSED_BOOK, 0, what);
            free(path);
        }
    }
    free(m);
    free(text);
    tu_rmtree(dir);
    free(dir);
}

/* ---- CSV ---- */

static const char *const csv_rows[] = {
    "a,Q,C,x",     "a,Q,C,",        "a,Q,C, ",
    ",Q,C,x",      " ,Q,C,x",       "a,,C,x",
    "a, ,C,x",     "a,Q,,x",        "a,Q,C,\"[\"\"x\"\", \"\"y\"\"]\"",
    "a,Q,C, [1]",  "a,Q,C,[bad",    "a,\"Q, \"\"quoted\"\"\nline\",\"C\\\",\"x\ty\"",
    "a,Q\xff,C,x", "a,Q,C\xc3,x",   "a\xe9,Q,C,x",
    "a,Q,C",       "a,Q,C,x,extra", "a,Q \xc3\xa9 \x01,C,x",
    "b,Q,C,x",
};

static void test_csv(void **state)
{
    static const char *const maps[][4] = {
        {"1", "2", "3", "4"}, {"id", "2", "03", "4"}, {"x", "question", "context", "answers"}};
    char *dir = tu_tmpdir();
    size_t n = sizeof(csv_rows) / sizeof(*csv_rows);
    (void)state;
    for (size_t map = 0; map <= 3; map++) {
        jsonl_map = map ? maps[map - 1] : NULL;
        for (int header = 0; header < 2; header++) {
            struct lleval_sb all = LLEVAL_SB_INIT;
            char *path;
            csv_header = header;
            if (header)
                lleval_sb_adds(&all, "id,question,context,answers\n");
            for (size_t i = 0; i < n; i++) {
                char *one = lleval_xasprintf(
                    "%s%s\n", header ? "id,question,context,answers\n" : "", csv_rows[i]);
                char what[64];
                path = tu_write(dir, "in.csv", one);
                snprintf(what, sizeof(what), "csv row %zu, mapping %zu, header %d", i, map, header);
                same_both_ways(dir, path, LLEVAL_CLOSED_BOOK, 0, what);
                same_both_ways(dir, path, LLEVAL_OPEN_BOOK, 0, what);
                free(path);
                free(one);
                lleval_sb_addf(&all, "%s\n\n", csv_rows[i]);
            }
            path = tu_write(dir, "all.csv", all.buf);
            same_both_ways(dir, path, LLEVAL_OPEN_BOOK, 0, "csv, all rows");
            same_both_ways(dir, path, LLEVAL_CLOSED_BOOK, 2, "csv, all rows");
            same_both_ways(dir, path, LLEVAL_MULTIPLE_CHOICE, 0, "csv, all rows");
            free(path);
            lleval_sb_release(&all);
        }
    }
    jsonl_map = NULL;
    csv_header = true;
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_jsonl_mutations),
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_shared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
