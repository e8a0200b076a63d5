/*
 * The resolved configuration as JSON (`lleval config show --json`, run
 * manifests). The JSON is made from lleval_config_to_yaml()'s output, so both
 * always hold the same keys and values: that writer quotes every string that
 * could read as another type, so plain scalars resolve unambiguously here.
 */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "lleval/config/config.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

static json_t *scalar_json(const yaml_node_t *n)
{
    const char *s = (const char *)n->data.scalar.value;
    long l;
    double d;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_string(s);
    if (!strcmp(s, "null") || !strcmp(s, "~") || !*s)
        return json_null();
    if (!strcmp(s, "true"))
        return json_true();
    if (!strcmp(s, "false"))
        return json_false();
    if (!lleval_parse_long(s, -2147483647L - 1, 2147483647L, &l))
        return json_integer(l);
    if (!lleval_parse_double(s, &d))
        return json_real(d);
    return json_string(s);
}

static json_t *node_json(yaml_document_t *doc, const yaml_node_t *n)
{
    json_t *j;
    if (!n)
        return json_null();
    switch (n->type) {
    case YAML_SEQUENCE_NODE:
        j = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++)
            json_array_append_new(j, node_json(doc, yaml_document_get_node(doc, *it)));
        return j;
    case YAML_MAPPING_NODE:
        j = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            if (k && k->type == YAML_SCALAR_NODE)
                json_object_set_new(j, (const char *)k->data.scalar.value,
                                    node_json(doc, yaml_document_get_node(doc, p->value)));
        }
        return j;
    case YAML_SCALAR_NODE:
        return scalar_json(n);
    default:
        return json_null();
    }
}

json_t *lleval_config_to_json(const struct lleval_config *cfg)
{
    char *text = lleval_config_to_yaml(cfg, false);
    yaml_parser_t parser;
    yaml_document_t doc;
    json_t *j = NULL;

    if (yaml_parser_initialize(&parser)) {
        yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
        if (yaml_parser_load(&parser, &doc)) {
            j = node_json(&doc, yaml_document_get_root_node(&doc));
            yaml_document_delete(&doc);
        }
        yaml_parser_delete(&parser);
    }
    free(text);
    return j ? j : json_object();
}

json_t *lleval_config_origins_json(const struct lleval_config *cfg)
{
    json_t *j = json_object();
    const char *const *keys = lleval_config_keys();
    for (size_t i = 0; keys[i]; i++) {
        char *o = lleval_config_origin(cfg, keys[i]);
        json_object_set_new(j, keys[i], json_string(o));
        free(o);
    }
    for (size_t i = 0; i < cfg->n_extra_origins; i++) {
        char *o = lleval_config_origin(cfg, cfg->extra_origins[i].key);
        json_object_set_new(j, cfg->extra_origins[i].key, json_string(o));
        free(o);
    }
    return j;
}

json_t *lleval_config_overs_json(const struct lleval_config *cfg)
{
    json_t *j = json_object();
    const char *const *keys = lleval_config_keys();
    for (size_t i = 0; keys[i]; i++) {
        char *o = lleval_config_origin_over(cfg, keys[i]);
        if (o)
            json_object_set_new(j, keys[i], json_string(o));
        free(o);
    }
    return j;
}
