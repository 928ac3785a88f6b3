/*
 * The test runner: every suite listed in suites.def, in one process per
 * suite (Check's fork mode), so that a crash in one test is reported
 * rather than ending the run. Set CK_FORK=no to debug in one process, and
 * CK_RUN_SUITE / CK_RUN_CASE to run a part.
 */
#include <stdlib.h>

#include "testutil.h"

#define SUITE(name) Suite *suite_##name(void);
#include "suites.def"
#undef SUITE

int main(void)
{
    SRunner *sr = srunner_create(NULL);
    int failed;

    printf("libpal %s tests, seed %llu (set PAL_TEST_SEED to change)\n",
           pal_version_string(), (unsigned long long)test_seed());
#define SUITE(name) srunner_add_suite(sr, suite_##name());
#include "suites.def"
#undef SUITE
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
