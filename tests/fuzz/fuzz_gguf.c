/*
 * libFuzzer target for the GGUF reader: parses the input as a GGUF image and
 * exercises every getter on what comes back. tests/fuzz/run.sh builds and runs
 * it (target gguf; docs/fuzzing.md).
 */
#include <stddef.h>
#include <stdint.h>
#include "lleval/model/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lleval_gguf g;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_gguf_summary s;
    struct lleval_gguf_type_stat mix[LLEVAL_GGML_TYPE_COUNT];
    char buf[64];

    if (lleval_gguf_parse_mem(&g, data, size, "fuzz.gguf", &err)) {
        lleval_gguf_release(&g);
        return 0;
    }
    lleval_gguf_summarize(&g, &s);
    lleval_gguf_type_mix(&g, mix);
    lleval_gguf_fmt_count(buf, sizeof(buf), s.n_params);
    lleval_gguf_fmt_bytes(buf, sizeof(buf), s.file_size);
    lleval_gguf_file_type_name(s.file_type);
    for (size_t i = 0; i < g.n_kv; i++) {
        const struct lleval_gguf_kv *kv = &g.kv[i];
        uint64_t u;
        double f;
        lleval_gguf_get_uint(&g, kv->key, &u);
        lleval_gguf_get_float(&g, kv->key, &f);
        lleval_gguf_get_str(&g, kv->key);
        if (kv->type == LLEVAL_GGUF_ARRAY) {
            uint64_t n = kv->arr_n < 64 ? kv->arr_n : 64;
            for (uint64_t k = 0; k <= n; k++) {
                const struct lleval_gguf_str *str = lleval_gguf_arr_str(kv, k);
                lleval_gguf_arr_uint(kv, k, &u);
                lleval_gguf_arr_float(kv, k, &f);
                if (str && str->len)
                    buf[0] = str->s[str->len - 1];
            }
        }
    }
    for (size_t i = 0; i < g.n_tensors; i++) {
        lleval_ggml_type_name(g.tensors[i].type, buf, sizeof(buf));
        lleval_gguf_tensor(&g, g.tensors[i].name);
    }
    lleval_gguf_release(&g);
    return 0;
}
