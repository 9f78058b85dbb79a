/*
 * Median, minimum and maximum of a benchmark's samples over the runs.
 *
 * The report shows the median because a run can be disturbed (a host
 * interrupt storm, another process on the CPU) and the median ignores one
 * bad run where the mean would not; min and max show the spread.  For an
 * even count the median is the mean of the two middle values, the usual
 * definition, so that 2 runs give their mean rather than an arbitrary one.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/lib/results.h"

/* NaN sorts last, so it can only be the median when most values are NaN. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

double stats_median(const double *v, size_t n)
{
    if (!v || n == 0)
        return NAN;
    double *s = malloc(n * sizeof(*s));
    if (!s)
        return NAN;
    memcpy(s, v, n * sizeof(*s));
    qsort(s, n, sizeof(*s), cmp_double);
    double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return m;
}

double stats_min(const double *v, size_t n)
{
    if (!v || n == 0)
        return NAN;
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        if (v[i] < m || isnan(m))
            m = v[i];
    return m;
}

double stats_max(const double *v, size_t n)
{
    if (!v || n == 0)
        return NAN;
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        if (v[i] > m || isnan(m))
            m = v[i];
    return m;
}
