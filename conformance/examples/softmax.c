/* An external implementation checked by `python -m conformance check-vectors`: softmax and
 * log_softmax over the rows of a 2-D array, in double precision, speaking the stdin/stdout
 * protocol of conformance/vectors.py (every request answered in order; "unsupported" for the
 * operations it does not implement).
 *
 *   cc -O2 -o softmax softmax.c -lm
 *   python -m conformance export vectors
 *   python -m conformance check-vectors vectors --command ./softmax
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIMS 8

typedef struct {
    int ndim;
    long dims[MAX_DIMS];
    long size;
    double *values;
} Array;

static void die(const char *what) {
    fprintf(stderr, "softmax: %s\n", what);
    exit(1);
}

/* Reads "array <name> <ndim> <dims...> <values...>" after the word "array". */
static void read_array(char *name, Array *a) {
    if (scanf("%63s %d", name, &a->ndim) != 2 || a->ndim < 0 || a->ndim > MAX_DIMS) die("bad array header");
    a->size = 1;
    for (int d = 0; d < a->ndim; d++) {
        if (scanf("%ld", &a->dims[d]) != 1 || a->dims[d] < 0) die("bad array dimension");
        a->size *= a->dims[d];
    }
    a->values = malloc((size_t)(a->size > 0 ? a->size : 1) * sizeof(double));
    if (!a->values) die("out of memory");
    for (long i = 0; i < a->size; i++)
        if (scanf("%lf", &a->values[i]) != 1) die("bad array value");
}

/* y_j = x_j - m - log Σ_k e^{x_k - m}, m = max_k x_k (no exp overflows); softmax is e^{y_j}. */
static void rows(const Array *x, int log_space) {
    long n_rows = x->dims[0], n_cols = x->dims[1];
    printf("result\narray y 2 %ld %ld\n", n_rows, n_cols);
    for (long r = 0; r < n_rows; r++) {
        const double *row = x->values + r * n_cols;
        double m = -INFINITY, sum = 0.0;
        for (long c = 0; c < n_cols; c++) m = row[c] > m ? row[c] : m;
        for (long c = 0; c < n_cols; c++) sum += exp(row[c] - m);
        for (long c = 0; c < n_cols; c++) {
            double v = log_space ? (row[c] - m) - log(sum) : exp(row[c] - m) / sum;
            printf("%.17g%c", v, c + 1 == n_cols ? '\n' : ' ');
        }
    }
    printf("end\n");
}

int main(void) {
    char word[64], op[128], dtype[32], name[64];
    while (scanf("%63s", word) == 1) {
        if (strcmp(word, "request") != 0 || scanf("%127s %31s", op, dtype) != 2) die("expected a request");
        Array x = {0};
        int have_x = 0;
        while (scanf("%63s", word) == 1 && strcmp(word, "end") != 0) {
            if (strcmp(word, "option") == 0) { /* options: name, count, tokens; none needed here */
                int count;
                if (scanf("%63s %d", name, &count) != 2) die("bad option");
                for (int i = 0; i < count; i++)
                    if (scanf("%63s", word) != 1) die("bad option value");
            } else if (strcmp(word, "array") == 0) {
                Array a;
                read_array(name, &a);
                if (strcmp(name, "x") == 0 && !have_x) {
                    x = a;
                    have_x = 1;
                } else {
                    free(a.values);
                }
            } else {
                die("expected option, array or end");
            }
        }
        int is_softmax = strcmp(op, "softmax") == 0, is_log = strcmp(op, "log_softmax") == 0;
        if ((is_softmax || is_log) && have_x && x.ndim == 2)
            rows(&x, is_log);
        else
            printf("unsupported\n");
        free(x.values);
    }
    return 0;
}
