/*
 * report.c - fbus-bench's output: the plain-text table, the docs/design.md section 9
 * budget with pass/miss per line, a JSON record, a Markdown fragment for
 * docs/benchmarks.md and the data file the latency plot is drawn from.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

static const char *verdict(int pass)
{
    return pass < 0 ? "info" : pass ? "pass" : "MISS";
}

static double us(double ns)
{
    return ns / 1000.0;
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

void verdict_add(struct verdict *v, unsigned *n, int pass, const char *what, const char *fmt, ...)
{
    va_list ap;

    if (*n >= MAX_VERDICTS)
        return;
    snprintf(v[*n].what, sizeof(v[*n].what), "%s", what);
    va_start(ap, fmt);
    vsnprintf(v[*n].figure, sizeof(v[*n].figure), fmt, ap);
    va_end(ap);
    v[(*n)++].pass = pass;
}

/* Hand-off with handoff_readers[j] readers within limit x the 1-waiter futex, p50 and p99. */
static void budget_handoff(const struct results *r, unsigned j, double limit, struct verdict *v,
                           unsigned *n)
{
    const struct summary *fx = &r->futex[0];
    char what[96];

    for (unsigned s = 0; s < NSIZES; s++) {
        const struct summary *h = &r->handoff[s][j];
        double a = ratio(h->p50, fx->p50), b = ratio(h->p99, fx->p99);
        snprintf(what, sizeof(what), "Hand-off, %u reader%s, %s: p50 and p99 <= %.1fx futex",
                 handoff_readers[j], handoff_readers[j] > 1 ? "s" : "", bench_sizes[s].label,
                 limit);
        if (r->pinned) {
            verdict_add(v, n, h->n && a <= limit && b <= limit, what,
                        "p50 %.1f us = %.2fx, p99 %.1f us = %.2fx (futex %.1f / %.1f us)",
                        us(h->p50), a, us(h->p99), b, us(fx->p50), us(fx->p99));
            continue;
        }
        /*
         * Unpinned, a wake on the waker's CPU (~30 us here) and one on the other CPU
         * (~80 us) mix in proportions that change from run to run: judged on the pinned
         * run; the like-for-like ratios by placement are shown.
         */
        const struct summary *hc = r->handoff_cpu[s][j], *fc = r->futex_cpu[0];
        char same[16] = "n/a", other[16] = "n/a";
        if (hc[0].n && fc[0].n)
            snprintf(same, sizeof(same), "%.2fx", ratio(hc[0].p50, fc[0].p50));
        if (hc[1].n && fc[1].n)
            snprintf(other, sizeof(other), "%.2fx", ratio(hc[1].p50, fc[1].p50));
        verdict_add(v, n, -1, what,
                    "p50 %.2fx, p99 %.2fx; by placement p50 same CPU %s, other CPU %s", a, b, same,
                    other);
    }
}

static void budget_writer(const struct results *r, struct verdict *v, unsigned *n)
{
    char what[96];

    for (unsigned s = 0; s < NSIZES; s++) {
        const struct summary *a = &r->wcost[s][0], *b = &r->wcost[s][2];
        snprintf(what, sizeof(what), "Writer overhead without copy, %s: <= 10 us",
                 bench_sizes[s].label);
        verdict_add(v, n, a->n && a->p50 <= 10000 && b->p50 <= 10000, what,
                    "p50 %.2f us (p99 %.2f), with 4 readers p50 %.2f us", us(a->p50), us(a->p99),
                    us(b->p50));
    }
    for (unsigned s = 0; s < NSIZES; s++) {
        snprintf(what, sizeof(what), "Publish with copy, %s: >= 80%% of memcpy",
                 bench_sizes[s].label);
        verdict_add(v, n, r->memcpy_frac[s] >= 0.8, what, "%.0f%% (publish p50 %.0f us, %.0f fps)",
                    100 * r->memcpy_frac[s], us(r->wpub[s][0].p50), ratio(1e9, r->wpub[s][0].p50));
    }
}

static unsigned budget(const struct results *r, struct verdict *v)
{
    unsigned n = 0;
    char what[96];

    if (r->have & SEC_HANDOFF) {
        budget_handoff(r, 0, 1.5, v, &n);
        budget_handoff(r, 2, 4.0, v, &n);
    }
    if (r->have & SEC_WRITER)
        budget_writer(r, v, &n);
    if (r->have & SEC_READER) {
        verdict_add(v, &n, r->sum_ratio[2] > 0 && r->sum_ratio[2] <= 1.1,
                    "Reader sum of a 4K frame: bus / local <= 1.1", "%.3f (%.2f vs %.2f ms)",
                    r->sum_ratio[2], r->sum_bus_ns[2] / 1e6, r->sum_local_ns[2] / 1e6);
    }
    /*
     * The flat-out scaling figures are physics on 2 cores (16 busy readers take the
     * writer's CPU): they are tables, not budget lines. What a camera's readers
     * cost is judged at a camera's rate against the bare loop (cam_budget).
     */
    if (r->have & SEC_CAMRATE)
        cam_budget(r, v, &n);
    for (unsigned k = 0; (r->have & SEC_GST) && k < NGST; k++) {
        const struct gst_result *g = &r->gst[k];
        snprintf(what, sizeof(what),
                 "Against shmsink/shmsrc (lossless reader), %s: more fps, less CPU/frame",
                 bench_sizes[k + 1].label);
        verdict_add(v, &n, g->ok && g->fps_ratio > 1 && g->cpu_ratio < 1, what,
                    "fps %.2fx, CPU/frame %.2fx of GStreamer's", g->fps_ratio, g->cpu_ratio);
    }
    return n;
}

/* ---- Plain text ---- */

static FILE *tout; /* where report_text() writes */

static void tprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void tprintf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(tout, fmt, ap);
    va_end(ap);
}

static void text_latency(const struct results *r)
{
    tprintf("\n== Wake-up latency (us): publish -> blocked reader returns; futex = bare FUTEX_WAKE"
            " -> FUTEX_WAIT returns\n");
    tprintf("%-18s %7s %8s %8s %8s %8s %8s %8s %6s %7s %7s %7s\n", "", "readers", "p50", "p99",
            "max", "p50/fx", "p99/fx", "last p50", "xcpu", "same", "other", "commit");
    for (unsigned j = 0; j < NHANDOFF; j++) {
        const struct summary *f = &r->futex[j];
        tprintf("%-18s %7u %8.1f %8.1f %8.1f %8s %8s %8.1f %5.0f%% %7.1f %7.1f\n", "futex baseline",
                handoff_readers[j], us(f->p50), us(f->p99), us(f->max), "", "",
                us(r->futex_last[j].p50), 100 * r->futex_cross[j], us(r->futex_cpu[j][0].p50),
                us(r->futex_cpu[j][1].p50));
    }
    for (unsigned s = 0; (r->have & SEC_HANDOFF) && s < NSIZES; s++) {
        for (unsigned j = 0; j < NHANDOFF; j++) {
            const struct summary *h = &r->handoff[s][j];
            tprintf("%-18s %7u %8.1f %8.1f %8.1f %7.2fx %7.2fx %8.1f %5.0f%% %7.1f %7.1f %7.1f%s\n",
                    bench_sizes[s].label, handoff_readers[j], us(h->p50), us(h->p99), us(h->max),
                    ratio(h->p50, r->futex[0].p50), ratio(h->p99, r->futex[0].p99),
                    us(r->handoff_last[s][j].p50), 100 * r->handoff_cross[s][j],
                    us(r->handoff_cpu[s][j][0].p50), us(r->handoff_cpu[s][j][1].p50),
                    us(r->commit_ns[s][j].p50), r->handoff_errors[s][j] ? "  (errors)" : "");
        }
    }
    tprintf("(p50/fx, p99/fx: against the 1-waiter futex; last p50: median, per wake, of the"
            " slowest reader; xcpu: wakes run on another CPU than the waker; same / other: p50 of"
            " the wakes on the waker's CPU / on another; commit: p50 of the writer's"
            " fbus_writer_commit, the wake-ups included)\n");
}

static void text_writer(const struct results *r)
{
    tprintf("\n== Writer cost per frame (us, wall; cpu = writer thread CPU per frame)\n");
    tprintf("%-18s %-22s %8s %8s %8s %9s %9s\n", "", "", "p50", "p99", "cpu", "max fps", "memcpy");
    for (unsigned s = 0; s < NSIZES; s++) {
        const struct bsize *z = &bench_sizes[s];
        for (unsigned j = 0; j < NWCOST; j++) {
            char what[32];
            snprintf(what, sizeof(what), "claim+commit, %u rd", wcost_readers[j]);
            tprintf("%-18s %-22s %8.2f %8.2f %8.2f %9.0f\n", z->label, what, us(r->wcost[s][j].p50),
                    us(r->wcost[s][j].p99), us(r->wcost_cpu[s][j]), ratio(1e9, r->wcost[s][j].p50));
        }
        for (unsigned j = 0; j < NWPUB; j++) {
            char what[32];
            snprintf(what, sizeof(what), "publish (copy), %u rd", wpub_readers[j]);
            tprintf("%-18s %-22s %8.1f %8.1f %8.1f %9.0f", z->label, what, us(r->wpub[s][j].p50),
                    us(r->wpub[s][j].p99), us(r->wpub_cpu[s][j]), ratio(1e9, r->wpub[s][j].p50));
            if (j == 0)
                tprintf(" %8.0f%%", 100 * r->memcpy_frac[s]);
            tprintf("\n");
        }
    }
    tprintf("(memcpy: publish throughput as a fraction of a bare memcpy of the frame, measured"
            " between the publish runs)\n");
}

static void text_base(const struct results *r)
{
    tprintf("\n== One null system call (getppid): %.2f us CPU\n", us(r->syscall_ns));
    tprintf("\n== memcpy of one frame (heap to one of two rotating heap buffers)\n");
    for (unsigned s = 0; s < NSIZES; s++) {
        const struct summary *m = &r->memcpy_ns[s];
        tprintf("%-18s p50 %9.1f us  p99 %9.1f us  %6.2f GB/s\n", bench_sizes[s].label, us(m->p50),
                us(m->p99), ratio((double)bench_sizes[s].bytes, m->p50));
    }
}

static void text_reader(const struct results *r)
{
    tprintf("\n== Reader: sum of every 64-bit word of a frame, bus vs local heap copy (median)\n");
    for (unsigned s = 0; s < NSIZES; s++)
        tprintf("%-18s bus %9.1f us  local %9.1f us  ratio %.3f\n", bench_sizes[s].label,
                us(r->sum_bus_ns[s]), us(r->sum_local_ns[s]), r->sum_ratio[s]);
}

static void text_scaling(const struct results *r)
{
    tprintf("\n== Scaling: writer publishing at full speed (median of repeats)\n");
    tprintf("%-18s %7s %9s %8s %8s %9s %9s\n", "", "readers", "fps", "vs 1 rd", "seen", "wcpu us",
            "rcpu us");
    for (unsigned s = 0; s < NSIZES; s++) {
        for (unsigned j = 0; j < NSCALE; j++) {
            tprintf("%-18s %7u %9.0f %7.2fx %7.0f%% %9.1f %9.1f\n", bench_sizes[s].label,
                    scale_readers[j], r->scale_fps[s][j],
                    ratio(r->scale_fps[s][j], r->scale_fps[s][1]), 100 * r->scale_seen[s][j],
                    us(r->scale_wcpu[s][j]), us(r->scale_rcpu[s][j]));
        }
        static const char *st[NSTALL] = {"3 slots, 1 rd", "+1 stopped, idle", "+1 stopped, holding",
                                         "2 slots, +1 holding"};
        for (unsigned j = 0; j < NSTALL; j++) {
            tprintf("%-18s %-20s %9.0f fps %7.2fx  drops %5.1f%%\n", bench_sizes[s].label, st[j],
                    r->stall_fps[s][j], ratio(r->stall_fps[s][j], r->stall_fps[s][0]),
                    100 * r->stall_drops[s][j]);
        }
    }
    tprintf("(seen: mean fraction of the published frames each reader took; wcpu / rcpu: CPU of"
            " the writer / of all readers together per published frame)\n");
}

static void text_gst(const struct results *r)
{
    tprintf("\n== Against GStreamer shmsink -> shmsrc (constant frame copied in per frame;"
            " steady state)\n");
    tprintf("%-18s %-26s %9s %8s %12s %8s\n", "", "", "fps", "vs gst", "cpu us/frame", "vs gst");
    for (unsigned k = 0; k < NGST; k++) {
        const struct gst_result *g = &r->gst[k];
        const char *l = bench_sizes[k + 1].label;
        tprintf("%-18s %-26s %9.0f %8s %12.1f %8s  %s\n", l, "GStreamer shmsink/shmsrc", g->gst_fps,
                "", us(g->gst_cpu_ns), "", g->note);
        tprintf("%-18s %-26s %9.0f %7.2fx %12.1f %7.2fx  got %.0f%%\n", l,
                "framebus, lossless reader", g->fbus_fps, g->fps_ratio, us(g->fbus_cpu_ns),
                g->cpu_ratio, 100 * g->fbus_delivered);
        tprintf("%-18s %-26s %9.0f %7.2fx %12.1f %7.2fx  got %.0f%%\n", l,
                "framebus, newest-frame rd", g->latest_fps, g->latest_fps_ratio,
                us(g->latest_cpu_ns), g->latest_cpu_ratio, 100 * g->latest_delivered);
        tprintf("%-18s %-26s %9.0f %8s %12.1f\n", l, "memcpy of one frame",
                ratio(1e9, g->memcpy_ns), "", us(g->memcpy_ns));
    }
    tprintf("(fps: frames the reader got per second; cpu: user+sys of both processes per frame the"
            " reader got; got: share of the stream the reader got; vs gst: median of the"
            " per-repeat ratios)\n");
}

void report_text(FILE *f, const struct results *r, unsigned sections)
{
    struct verdict v[MAX_VERDICTS];
    unsigned n;

    tout = f;
    if (sections & r->have & SEC_BASE)
        text_base(r);
    if (sections & r->have & (SEC_FUTEX | SEC_HANDOFF))
        text_latency(r);
    if (sections & r->have & SEC_WRITER)
        text_writer(r);
    if (sections & r->have & SEC_READER)
        text_reader(r);
    if (sections & r->have & SEC_SCALE)
        text_scaling(r);
    if (sections & r->have & SEC_CAMRATE)
        cam_text(tout, r);
    if (sections & r->have & SEC_GST)
        text_gst(r);
    if (sections != ~0u)
        return;
    n = budget(r, v);
    tprintf("\n== Budget (docs/design.md section 9)\n");
    for (unsigned i = 0; i < n; i++)
        tprintf("%-4s  %-66s %s\n", verdict(v[i].pass), v[i].what, v[i].figure);
    fflush(tout);
}

/* ---- JSON ---- */

static void json_summary(FILE *f, const char *key, const struct summary *s, const char *end)
{
    fprintf(f,
            "\"%s\": {\"n\": %zu, \"p50_us\": %.3f, \"p99_us\": %.3f, \"max_us\": %.3f, "
            "\"mean_us\": %.3f}%s",
            key, s->n, us(s->p50), us(s->p99), us(s->max), us(s->mean), end);
}

static void json_latency(FILE *f, const struct results *r)
{
    char key[32];

    fprintf(f, "  \"futex\": {");
    for (unsigned j = 0; j < NHANDOFF; j++) {
        snprintf(key, sizeof(key), "%u", handoff_readers[j]);
        json_summary(f, key, &r->futex[j], j + 1 < NHANDOFF ? ", " : "},\n");
    }
    fprintf(f, "  \"handoff\": {");
    for (unsigned s = 0; s < NSIZES; s++) {
        fprintf(f, "\"%s\": {", bench_sizes[s].tag);
        for (unsigned j = 0; j < NHANDOFF; j++) {
            snprintf(key, sizeof(key), "%u", handoff_readers[j]);
            json_summary(f, key, &r->handoff[s][j], j + 1 < NHANDOFF ? ", " : "}");
        }
        fprintf(f, "%s", s + 1 < NSIZES ? ", " : "},\n");
    }
}

static void json_sizes(FILE *f, const struct results *r, unsigned s)
{
    const char *t = bench_sizes[s].tag;

    fprintf(f, "  \"%s\": {\"bytes\": %zu, ", t, bench_sizes[s].bytes);
    json_summary(f, "memcpy", &r->memcpy_ns[s], ", ");
    json_summary(f, "claim_commit", &r->wcost[s][0], ", ");
    json_summary(f, "claim_commit_4_readers", &r->wcost[s][2], ", ");
    json_summary(f, "publish", &r->wpub[s][0], ", ");
    fprintf(f,
            "\"memcpy_fraction\": %.4f, \"sum_bus_us\": %.3f, \"sum_local_us\": %.3f, "
            "\"sum_ratio\": %.4f, \"scale_fps\": [",
            r->memcpy_frac[s], us(r->sum_bus_ns[s]), us(r->sum_local_ns[s]), r->sum_ratio[s]);
    for (unsigned j = 0; j < NSCALE; j++)
        fprintf(f, "%.1f%s", r->scale_fps[s][j], j + 1 < NSCALE ? ", " : "], \"stall_fps\": [");
    for (unsigned j = 0; j < NSTALL; j++)
        fprintf(f, "%.1f%s", r->stall_fps[s][j], j + 1 < NSTALL ? ", " : "]}");
    fprintf(f, "%s\n", s + 1 < NSIZES ? "," : "");
}

int report_json(const struct results *r, const struct bench_opts *o, const char *path)
{
    FILE *f = fopen(path, "we");
    struct verdict v[MAX_VERDICTS];
    unsigned n = budget(r, v);

    if (!f)
        return -1;
    fprintf(f,
            "{\n  \"repeats\": %u, \"rounds\": %u, \"pace_us\": %u, \"pin\": %d, \"rt\": %d,\n"
            "  \"syscall_us\": %.3f,\n",
            o->repeats, o->rounds, o->pace_us, o->pin, o->rt, us(r->syscall_ns));
    json_latency(f, r);
    fprintf(f, "  \"sizes\": {\n");
    for (unsigned s = 0; s < NSIZES; s++)
        json_sizes(f, r, s);
    fprintf(f, "  },\n  \"gst\": [");
    for (unsigned k = 0; k < NGST; k++) {
        const struct gst_result *g = &r->gst[k];
        fprintf(f,
                "{\"size\": \"%s\", \"gst_fps\": %.1f, \"fbus_fps\": %.1f, \"gst_cpu_us\": %.2f, "
                "\"fbus_cpu_us\": %.2f, \"latest_fps\": %.1f, \"latest_cpu_us\": %.2f, "
                "\"latest_got\": %.3f}%s",
                bench_sizes[k + 1].tag, g->gst_fps, g->fbus_fps, us(g->gst_cpu_ns),
                us(g->fbus_cpu_ns), g->latest_fps, us(g->latest_cpu_ns), g->latest_delivered,
                k + 1 < NGST ? ", " : "],\n");
    }
    if (r->have & SEC_CAMRATE)
        cam_json(f, r);
    fprintf(f, "  \"budget\": [\n");
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "    {\"pass\": %s, \"what\": \"%s\", \"figure\": \"%s\"}%s\n",
                v[i].pass < 0 ? "null"
                : v[i].pass   ? "true"
                              : "false",
                v[i].what, v[i].figure, i + 1 < n ? "," : "");
    fprintf(f, "  ]\n}\n");
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- Markdown ---- */

static void md_latency(FILE *f, const struct results *r)
{
    fprintf(f, "### Hand-off latency (µs)\n\nPublish (timestamp taken just before "
               "`fbus_writer_commit`) → a reader blocked in `fbus_reader_acquire` returns. "
               "Ratios are to the bare 1-waiter futex wake of the same run.\n\n");
    fprintf(f, "| | readers | p50 | p99 | max | p50 / futex | p99 / futex | slowest reader p50 |"
               " woken on another CPU | p50 same CPU / other CPU | writer's commit p50 |\n"
               "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (unsigned j = 0; j < NHANDOFF; j++) {
        const struct summary *x = &r->futex[j];
        fprintf(f,
                "| bare futex wake | %u | %.1f | %.1f | %.1f | | | %.1f | %.0f %% | %.1f / %.1f "
                "| |\n",
                handoff_readers[j], us(x->p50), us(x->p99), us(x->max), us(r->futex_last[j].p50),
                100 * r->futex_cross[j], us(r->futex_cpu[j][0].p50), us(r->futex_cpu[j][1].p50));
    }
    for (unsigned s = 0; s < NSIZES; s++) {
        for (unsigned j = 0; j < NHANDOFF; j++) {
            const struct summary *h = &r->handoff[s][j];
            fprintf(f,
                    "| %s | %u | %.1f | %.1f | %.1f | %.2f× | %.2f× | %.1f | %.0f %% | %.1f / %.1f "
                    "| %.1f |\n",
                    bench_sizes[s].label, handoff_readers[j], us(h->p50), us(h->p99), us(h->max),
                    ratio(h->p50, r->futex[0].p50), ratio(h->p99, r->futex[0].p99),
                    us(r->handoff_last[s][j].p50), 100 * r->handoff_cross[s][j],
                    us(r->handoff_cpu[s][j][0].p50), us(r->handoff_cpu[s][j][1].p50),
                    us(r->commit_ns[s][j].p50));
        }
    }
    fprintf(f, "\n");
}

static void md_writer(FILE *f, const struct results *r)
{
    fprintf(f,
            "One null system call (`getppid`) costs **%.2f µs** of CPU on this machine; "
            "the writer's and readers' fixed costs are counted in it.\n\n",
            us(r->syscall_ns));
    fprintf(f, "### Writer cost per frame (µs)\n\n| | memcpy p50 | claim+commit p50 / p99 "
               "| with 1 / 4 readers p50 | publish p50 / p99 | with 4 readers p50 "
               "| max fps | of memcpy |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (unsigned s = 0; s < NSIZES; s++) {
        fprintf(f,
                "| %s | %.1f (%.2f GB/s) | %.2f / %.2f | %.2f / %.2f | %.1f / %.1f | %.1f | "
                "%.0f | %.0f %% |\n",
                bench_sizes[s].label, us(r->memcpy_ns[s].p50),
                ratio((double)bench_sizes[s].bytes, r->memcpy_ns[s].p50), us(r->wcost[s][0].p50),
                us(r->wcost[s][0].p99), us(r->wcost[s][1].p50), us(r->wcost[s][2].p50),
                us(r->wpub[s][0].p50), us(r->wpub[s][0].p99), us(r->wpub[s][1].p50),
                ratio(1e9, r->wpub[s][0].p50), 100 * r->memcpy_frac[s]);
    }
    fprintf(f, "\n### Reader cost\n\nSum of every 64-bit word of a frame held through the bus "
               "vs a private heap copy (median).\n\n| | bus µs | local µs | ratio |\n"
               "|---|---:|---:|---:|\n");
    for (unsigned s = 0; s < NSIZES; s++)
        fprintf(f, "| %s | %.1f | %.1f | %.3f |\n", bench_sizes[s].label, us(r->sum_bus_ns[s]),
                us(r->sum_local_ns[s]), r->sum_ratio[s]);
}

static void md_scaling(FILE *f, const struct results *r)
{
    static const char *st[NSTALL] = {
        "3 slots, 1 reader (reference)", "+1 reader stopped holding nothing",
        "+1 reader stopped holding a frame", "2 slots, +1 reader stopped holding a frame"};

    fprintf(f, "\n### Scaling: writer frame rate at full speed\n\nfps = frames published per "
               "second; seen = share of them each reader took; wcpu / rcpu = CPU µs per frame "
               "of the writer / of all readers together.\n\n| readers |");
    for (unsigned s = 0; s < NSIZES; s++)
        fprintf(f, " %s fps | seen | wcpu | rcpu |", bench_sizes[s].label);
    fprintf(f, "\n|---:|");
    for (unsigned s = 0; s < NSIZES; s++)
        fprintf(f, "---:|---:|---:|---:|");
    for (unsigned j = 0; j < NSCALE; j++) {
        fprintf(f, "\n| %u |", scale_readers[j]);
        for (unsigned s = 0; s < NSIZES; s++)
            fprintf(f, " %.0f | %.0f %% | %.1f | %.1f |", r->scale_fps[s][j],
                    100 * r->scale_seen[s][j], us(r->scale_wcpu[s][j]), us(r->scale_rcpu[s][j]));
    }
    fprintf(f, "\n\n| stalled reader |");
    for (unsigned s = 0; s < NSIZES; s++)
        fprintf(f, " %s fps | drops |", bench_sizes[s].label);
    fprintf(f, "\n|---|");
    for (unsigned s = 0; s < NSIZES; s++)
        fprintf(f, "---:|---:|");
    for (unsigned j = 0; j < NSTALL; j++) {
        fprintf(f, "\n| %s |", st[j]);
        for (unsigned s = 0; s < NSIZES; s++)
            fprintf(f, " %.0f | %.1f %% |", r->stall_fps[s][j], 100 * r->stall_drops[s][j]);
    }
    fprintf(f, "\n");
}

static void md_gst(FILE *f, const struct results *r)
{
    fprintf(f, "\n### Against GStreamer shmsink → shmsrc\n\nSteady state (5–95 %% of each "
               "stream); fps = frames the reader got per second; CPU = user+sys of both "
               "processes per frame the reader got; medians of the repeats; ratios are medians "
               "of each repeat's ratio (runs neighbours in time).\n\n"
               "| | pair | fps | vs GStreamer | CPU µs/frame | vs GStreamer | reader got |\n"
               "|---|---|---:|---:|---:|---:|---:|\n");
    for (unsigned k = 0; k < NGST; k++) {
        const struct gst_result *g = &r->gst[k];
        const char *l = bench_sizes[k + 1].label;
        fprintf(f, "| %s | GStreamer shmsink/shmsrc | %.0f | | %.1f | | 100 %% |\n", l, g->gst_fps,
                us(g->gst_cpu_ns));
        fprintf(f, "| %s | framebus, lossless reader | %.0f | %.2f× | %.1f | %.2f× | %.0f %% |\n",
                l, g->fbus_fps, g->fps_ratio, us(g->fbus_cpu_ns), g->cpu_ratio,
                100 * g->fbus_delivered);
        fprintf(f,
                "| %s | framebus, newest-frame reader | %.0f | %.2f× | %.1f | %.2f× | %.0f %% |\n",
                l, g->latest_fps, g->latest_fps_ratio, us(g->latest_cpu_ns), g->latest_cpu_ratio,
                100 * g->latest_delivered);
        fprintf(f, "| %s | memcpy of one frame | %.0f | | %.1f | | |\n", l,
                ratio(1e9, g->memcpy_ns), us(g->memcpy_ns));
    }
    fprintf(f, "\n(%s; %s.)\n", r->gst[0].note, r->gst[1].note);
}

int report_markdown(const struct results *r, const struct bench_opts *o, const char *path)
{
    FILE *f = fopen(path, "we");
    struct verdict v[MAX_VERDICTS];
    unsigned n = budget(r, v);

    if (!f)
        return -1;
    fprintf(f, "### Budget (docs/design.md §9)\n\n| | budget line | measured |\n|---|---|---|\n");
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "| %s | %s | %s |\n",
                v[i].pass < 0 ? "info"
                : v[i].pass   ? "pass"
                              : "**MISS**",
                v[i].what, v[i].figure);
    fprintf(f,
            "\n%u repeats; %u paced wake-ups per repeat and reader count (pace %u µs ± 50 %%); "
            "timed writer runs of %.2f s; %s.\n\n",
            o->repeats, o->rounds, o->pace_us, o->run_secs,
            o->pin ? "writer pinned to CPU 0, readers to the others" : "nothing pinned");
    if (r->have & (SEC_FUTEX | SEC_HANDOFF))
        md_latency(f, r);
    if (r->have & SEC_WRITER)
        md_writer(f, r);
    if (r->have & SEC_SCALE)
        md_scaling(f, r);
    if (r->have & SEC_CAMRATE)
        cam_markdown(f, r);
    if (r->have & SEC_GST)
        md_gst(f, r);
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- Plot data ---- */

int report_plot_data(const struct results *r, const char *path)
{
    FILE *f = fopen(path, "we");

    if (!f)
        return -1;
    fprintf(f, "# readers futex_p50 futex_p99 futex1_p50 futex1_p99");
    for (unsigned s = 0; s < NSIZES; s++)
        fprintf(f, " %s_p50 %s_p99", bench_sizes[s].tag, bench_sizes[s].tag);
    fprintf(f, "   (us)\n");
    for (unsigned j = 0; j < NHANDOFF; j++) {
        fprintf(f, "%u %.2f %.2f %.2f %.2f", handoff_readers[j], us(r->futex[j].p50),
                us(r->futex[j].p99), us(r->futex[0].p50), us(r->futex[0].p99));
        for (unsigned s = 0; s < NSIZES; s++)
            fprintf(f, " %.2f %.2f", us(r->handoff[s][j].p50), us(r->handoff[s][j].p99));
        fprintf(f, "\n");
    }
    return fclose(f) == 0 ? 0 : -1;
}
