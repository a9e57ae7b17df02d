/* assert_near(a, b, tol): a cmocka assertion that two doubles agree within tol, printing
 * both when they do not. Include after <cmocka.h> and <math.h>. */
#pragma once

#define assert_near(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(fabs(a_ - b_) <= (tol))) {                                                           \
            print_error("%s = %.9g, expected %.9g (tolerance %g)\n", #a, a_, b_, (double)(tol));   \
            fail();                                                                                \
        }                                                                                          \
    } while (0)
