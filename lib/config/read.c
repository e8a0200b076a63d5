/*
 * A YAML config file, read whole (up to 4 MiB) and parsed with libyaml's
 * document API: syntax and encoding errors name file:line:column, a file holds
 * one document, and its top level must be a mapping, applied by apply.c; a
 * preset from the command line is applied again after it, over its values.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_int.h"
#include "lleval/platform/fs.h"

#define CONFIG_MAX_BYTES (4u << 20)

static int parser_error(const struct lleval_cfg_src *s, const yaml_parser_t *p,
                        const struct lleval_sb *buf)
{
    unsigned long line = (unsigned long)p->problem_mark.line + 1;
    unsigned long col = (unsigned long)p->problem_mark.column + 1;
    const char *problem = p->problem ? p->problem : "cannot parse";

    if (p->error == YAML_READER_ERROR) {
        line = 1;
        col = 1;
        for (size_t i = 0; i < p->problem_offset && i < buf->len; i++) {
            if (buf->buf[i] == '\n') {
                line++;
                col = 1;
            } else if (((unsigned char)buf->buf[i] & 0xC0) != 0x80) {
                col++;
            }
        }
        return lleval_err_set(s->err, LLEVAL_EINVAL,
                              "%s:%lu:%lu: not valid text: %s; save the file as UTF-8", s->file,
                              line, col, problem);
    }
    if (p->context)
        return lleval_err_set(s->err, LLEVAL_EINVAL,
                              "%s:%lu:%lu: invalid YAML: %s (%s at line %lu, column %lu); check "
                              "the indentation, and quote values that contain ': ' or ' #'",
                              s->file, line, col, problem, p->context,
                              (unsigned long)p->context_mark.line + 1,
                              (unsigned long)p->context_mark.column + 1);
    return lleval_err_set(s->err, LLEVAL_EINVAL,
                          "%s:%lu:%lu: invalid YAML: %s; check the indentation, and quote values "
                          "that contain ': ' or ' #'",
                          s->file, line, col, problem);
}

/* A preset named on the command line applies over the file's values: apply it again. */
static int reapply_cli_preset(struct lleval_config *cfg, struct lleval_err *err)
{
    int idx = lleval_cfg_key_index_checked("preset");
    char *name, *where;
    int rc;
    if (cfg->origin[idx] != LLEVAL_FROM_CLI || !cfg->preset)
        return 0;
    name = lleval_xstrdup(cfg->preset);
    where = lleval_xstrdup(cfg->origin_where[idx]);
    rc = lleval_cfg_apply_preset(cfg, name, LLEVAL_FROM_CLI, where, err);
    free(name);
    free(where);
    return rc;
}

int lleval_config_load_file(struct lleval_config *cfg, const char *path, struct lleval_err *err)
{
    struct lleval_sb buf = LLEVAL_SB_INIT;
    yaml_parser_t parser;
    yaml_document_t doc, doc2;
    bool have_doc = false;
    struct lleval_cfg_problems problems = LLEVAL_CFG_PROBLEMS_INIT;
    struct lleval_cfg_src s = {cfg, path, path, LLEVAL_FROM_FILE, &doc, err, &problems};
    yaml_node_t *root;
    int rc;

    rc = lleval_read_file(path, &buf, CONFIG_MAX_BYTES, err);
    if (rc) {
        char msg[LLEVAL_ERR_MAX];
        snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
        lleval_sb_release(&buf);
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "config file: %s; check the path given to "
                              "--config",
                              msg);
    }
    if (!yaml_parser_initialize(&parser)) {
        lleval_sb_release(&buf);
        return lleval_err_set(err, LLEVAL_EIO, "%s: cannot start the YAML parser", path);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf.buf, buf.len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = parser_error(&s, &parser, &buf);
        goto out;
    }
    have_doc = true;
    root = yaml_document_get_root_node(&doc);
    if (root) {
        if (!yaml_parser_load(&parser, &doc2)) {
            rc = parser_error(&s, &parser, &buf);
            goto out;
        }
        if (yaml_document_get_root_node(&doc2)) {
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s:%lu:%lu: a config file holds one YAML document; remove the "
                                "second one (after '---')",
                                path, (unsigned long)doc2.start_mark.line + 1,
                                (unsigned long)doc2.start_mark.column + 1);
            yaml_document_delete(&doc2);
            goto out;
        }
        yaml_document_delete(&doc2);
    }
    if (root && !lleval_cfg_is_null(root)) {
        if (root->type != YAML_MAPPING_NODE) {
            rc = lleval_cfg_fail(
                &s, root,
                "a config file must be a mapping of keys to values (like 'model_id: "
                "llama3.1:8b-instruct-q4_K_M'), not %s",
                lleval_cfg_kind_of(root));
            goto out;
        }
        rc = lleval_cfg_load_top(&s, root);
        if (!rc)
            rc = lleval_cfg_problems_end(&problems, err); /* every bad key, not the first only */
        if (rc)
            goto out;
    }
    rc = reapply_cli_preset(cfg, err);
    if (rc)
        goto out;
    free(cfg->source_path);
    cfg->source_path = lleval_xstrdup(path);
out:
    lleval_sb_release(&problems.text);
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    lleval_sb_release(&buf);
    return rc;
}
