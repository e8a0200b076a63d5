/*
 * The scheduler's endpoints (see scheduler.h, lleval_sched_run_endpoints):
 * which endpoint a free slot serves next (the least loaded in rotation),
 * taking an endpoint out of rotation with its requests requeued, and the
 * health checks that bring it back. The scheduler's loop is scheduler.c.
 */
#include <math.h>
#include <string.h>
#include "lleval/platform/platform.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"
#include "sched_int.h"

/* Queues a job taken back from an endpoint out of rotation, due now; its next
 * attempt is numbered attempts + 1. */
void lleval_sched_requeue(struct sched *s, size_t job, long attempts)
{
    if (s->nretries + 1 > s->capretries) {
        s->capretries = s->capretries ? s->capretries * 2 : 16;
        s->retries = lleval_xrealloc(s->retries, s->capretries * sizeof(*s->retries));
    }
    s->retries[s->nretries++] = (struct retry){job, attempts, lleval_monotonic()};
}

/* Takes endpoint k out of rotation (msg borrowed: why): its transfers leave
 * the multi handle (no reply of theirs can arrive any more) and their jobs
 * are queued again for the other endpoints. */
void lleval_sched_endpoint_out(struct sched *s, size_t k, const char *msg)
{
    struct lleval_sched_endpoint *ep = &s->eps[k];
    double now = lleval_monotonic();
    size_t n = lleval_utf8_cut(msg, strlen(msg), sizeof(ep->last_error) - 1);

    memcpy(ep->last_error, msg, n);
    ep->last_error[n] = '\0';
    ep->down = true;
    ep->outages++;
    ep->down_since = now;
    ep->failed_checks = 0;
    ep->next_check = now + CHECK_FIRST_S;
    for (size_t i = s->first[k]; i < s->first[k] + (size_t)ep->slots; i++) {
        struct slot *sl = &s->slots[i];
        size_t job;
        long attempts;
        if (!sl->active || sl->local)
            continue;
        job = sl->job;
        attempts = sl->attempts;
        lleval_sched_slot_clear(s, sl);
        ep->requeued++;
        lleval_sched_requeue(s, job, attempts - 1);
    }
}

/* Health-checks the endpoints out of rotation whose check is due (their
 * probe, bounded); one that passes is back in rotation. When every endpoint
 * is out and has failed max_connect_failures checks in a row, the run gives
 * up (after asking revive()). */
void lleval_sched_check_endpoints(struct sched *s)
{
    bool all_spent = true;
    for (size_t k = 0; k < s->n_eps; k++) {
        struct lleval_sched_endpoint *ep = &s->eps[k];
        double now = lleval_monotonic();
        if (!ep->down) {
            all_spent = false;
            continue;
        }
        if (now >= ep->next_check) {
            struct lleval_probe_info info = {0};
            struct lleval_err err = LLEVAL_ERR_INIT;
            long saved = lleval_engine_probe_timeout_s(ep->e);
            int rc;
            lleval_engine_set_probe_timeout_s(ep->e, CHECK_TIMEOUT_S);
            rc = lleval_engine_probe(ep->e, &info, &err);
            lleval_engine_set_probe_timeout_s(ep->e, saved);
            lleval_probe_info_release(&info);
            now = lleval_monotonic();
            if (!rc) {
                ep->down = false;
                ep->out_of_rotation_s += now - ep->down_since;
                ep->failed_checks = 0;
                all_spent = false;
                continue;
            }
            ep->failed_checks++;
            {
                double wait = CHECK_FIRST_S * pow(2.0, (double)ep->failed_checks);
                ep->next_check = now + (wait < CHECK_MAX_S ? wait : CHECK_MAX_S);
            }
        }
        if (ep->failed_checks < s->o->max_connect_failures)
            all_spent = false;
    }
    if (!all_spent)
        return;
    if (s->o->revive && s->o->revive(s->ud)) {
        for (size_t k = 0; k < s->n_eps; k++) {
            s->eps[k].failed_checks = 0;
            s->eps[k].next_check = lleval_monotonic();
        }
        return;
    }
    s->unreachable = true;
}

/* The endpoint in rotation with a free slot and the fewest requests in flight
 * for its slots (the first of equals), or -1 when none has room. */
long lleval_sched_pick_endpoint(const struct sched *s)
{
    long best = -1;
    for (size_t k = 0; k < s->n_eps; k++) {
        const struct lleval_sched_endpoint *ep = &s->eps[k];
        if (ep->down || ep->in_flight >= (size_t)ep->slots)
            continue;
        if (best < 0 ||
            ep->in_flight * (size_t)s->eps[best].slots < s->eps[best].in_flight * (size_t)ep->slots)
            best = (long)k;
    }
    return best;
}

/* A free slot of endpoint k (it has room: pick_endpoint). */
struct slot *lleval_sched_free_slot(struct sched *s, size_t k)
{
    for (size_t i = s->first[k]; i < s->first[k] + (size_t)s->eps[k].slots; i++)
        if (!s->slots[i].active)
            return &s->slots[i];
    return NULL;
}
