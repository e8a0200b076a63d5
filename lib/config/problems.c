/*
 * Problems of a configuration, collected rather than returned at the first:
 * the file's keys and the cross-field rules are all checked, and the error
 * message lists every problem, one per line (as many as fit in an error
 * message, then how many more there are), so one run of `lleval config show`
 * shows everything to fix.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "config_int.h"

/* Room left in the message for the "... and N more" line. */
#define MORE_LINE_ROOM 80

void lleval_cfg_problem_err(struct lleval_cfg_problems *p, const struct lleval_err *e)
{
    const char *msg = e && e->msg[0] ? e->msg : "invalid configuration";
    size_t len = strlen(msg);
    if (!p->code || p->code == LLEVAL_EINVAL)
        p->code = e && e->code ? e->code : LLEVAL_EINVAL;
    p->n++;
    if (p->text.len + len + 1 + MORE_LINE_ROOM >= LLEVAL_ERR_MAX && p->shown)
        return;
    if (p->shown)
        lleval_sb_addch(&p->text, '\n');
    lleval_sb_adds(&p->text, msg);
    p->shown++;
}

int lleval_cfg_problem(struct lleval_cfg_problems *p, int code, const char *fmt, ...)
{
    struct lleval_err e = LLEVAL_ERR_INIT;
    va_list ap;
    va_start(ap, fmt);
    lleval_err_vset(&e, code, fmt, ap);
    va_end(ap);
    lleval_cfg_problem_err(p, &e);
    return code;
}

int lleval_cfg_problems_end(struct lleval_cfg_problems *p, struct lleval_err *err)
{
    int code = p->code;
    if (!p->n) {
        lleval_sb_release(&p->text);
        return 0;
    }
    if (p->n > p->shown)
        lleval_sb_addf(&p->text, "\n... and %zu more problem%s in the configuration",
                       p->n - p->shown, p->n - p->shown == 1 ? "" : "s");
    lleval_err_set(err, code, "%s", p->text.buf);
    lleval_sb_release(&p->text);
    return code;
}
