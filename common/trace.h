/*
 * common/trace.h: timestamps of the phases of a run, for the benchmark.
 *
 * With P11ACME_TRACE=FILE in the environment, each trace() call appends one line
 *   <CLOCK_MONOTONIC ns> <pid> <event> [detail]
 * to FILE (opened O_APPEND, so the client and its signer child can share it; each
 * line is one write()). Without it, trace() costs one test of a static variable.
 * Events carry no secrets: phase names, URLs, HTTP status codes and timings only.
 * tests/bench/summarize.py turns the lines into the phase table of docs/BENCHMARKS.md.
 */
#ifndef P11ACME_COMMON_TRACE_H
#define P11ACME_COMMON_TRACE_H

/* Open the file named by P11ACME_TRACE (if set). Call once at process start, and
 * again in a child that closed the descriptors it inherited. */
void trace_open(void);

/* 1 when tracing is on. */
int trace_on(void);

/* Append "<ns> <pid> " fmt "\n" when tracing is on. */
void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The monotonic clock in ns (what trace() stamps). */
long long trace_now_ns(void);

#endif
