/*
 * Core: version, status codes, contexts and options.
 */
#include "testutil.h"

START_TEST(version_matches_header)
{
    ck_assert_uint_eq(pal_version_number(), PAL_VERSION_NUMBER);
    ck_assert_str_eq(pal_version_string(), PAL_VERSION_STRING);
}
END_TEST

START_TEST(every_status_has_name_and_message)
{
    static const int codes[] = {
#define X_(name, value, msg) value,
        PAL_STATUS_LIST(X_)
#undef X_
    };

    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        ck_assert_str_ne(pal_status_name(codes[i]), "PAL_UNKNOWN");
        ck_assert_str_ne(pal_status_message(codes[i]),
                         "unknown status code");
        ck_assert_int_eq(PAL_IS_ERROR(codes[i]), codes[i] < 0);
    }
    ck_assert_str_eq(pal_status_name(12345), "PAL_UNKNOWN");
    ck_assert_str_eq(pal_status_message(-9999), "unknown status code");
    ck_assert_str_eq(pal_status_name(PAL_E_SIZE), "PAL_E_SIZE");
}
END_TEST

START_TEST(dtype_sizes)
{
    ck_assert_uint_eq(pal_dtype_size(PAL_F32), 4);
    ck_assert_uint_eq(pal_dtype_size(PAL_F64), 8);
    ck_assert_uint_eq(pal_dtype_size((pal_dtype_t)7), 0);
}
END_TEST

START_TEST(context_settings)
{
    pal_ctx_t *ctx = NULL;

    ck_status(pal_ctx_create(NULL, NULL), PAL_E_NULL);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    ck_assert_int_eq(pal_ctx_threads(ctx), 0);
    ck_status(pal_ctx_set_threads(ctx, -1), PAL_E_RANGE);
    ck_status(pal_ctx_set_threads(ctx, 2000), PAL_E_RANGE);
    ck_assert_int_eq(pal_ctx_threads(ctx), 0);
    ck_status(pal_ctx_set_threads(ctx, 2), PAL_OK);
    ck_assert_int_eq(pal_ctx_threads(ctx), 2);
    ck_status(pal_ctx_set_checks(ctx, 1u << 9), PAL_E_RANGE);
    ck_assert_uint_eq(pal_ctx_checks(ctx), 0);
    ck_status(pal_ctx_set_checks(ctx, PAL_CHECK_FINITE), PAL_OK);
    ck_assert_uint_eq(pal_ctx_checks(ctx), PAL_CHECK_FINITE);
    ck_status(pal_ctx_set_threads(NULL, 1), PAL_E_NULL);
    ck_status(pal_ctx_set_checks(NULL, 0), PAL_E_NULL);
    ck_status(pal_ctx_set_workspace_limit(NULL, 0), PAL_E_NULL);
    ck_assert_uint_eq(pal_ctx_workspace_size(ctx), 0);
    pal_ctx_release_workspace(ctx);
    pal_ctx_release_workspace(NULL);
    pal_ctx_destroy(ctx);
    pal_ctx_destroy(NULL);
}
END_TEST

/* An allocator that counts and can be told to fail. */
typedef struct counting {
    int live, calls, fail_at;
} counting_t;

static void *count_alloc(void *user, size_t size)
{
    counting_t *c = user;

    if (++c->calls == c->fail_at)
        return NULL;
    c->live++;
    return malloc(size);
}

static void count_free(void *user, void *p)
{
    counting_t *c = user;

    c->live--;
    free(p);
}

START_TEST(context_uses_its_allocator)
{
    counting_t c = {0, 0, 0};
    pal_allocator_t a = {count_alloc, count_free, &c};
    pal_ctx_t *ctx = (pal_ctx_t *)&c;

    c.fail_at = 1;
    ck_status(pal_ctx_create(&ctx, &a), PAL_E_NOMEM);
    ck_assert_ptr_eq(ctx, (pal_ctx_t *)&c);
    c.fail_at = 0;
    ck_status(pal_ctx_create(&ctx, &a), PAL_OK);
    ck_assert_int_eq(c.live, 1);
    pal_ctx_destroy(ctx);
    ck_assert_int_eq(c.live, 0);
}
END_TEST

Suite *suite_core(void);
Suite *suite_core(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, version_matches_header);
    tcase_add_test(tc, every_status_has_name_and_message);
    tcase_add_test(tc, dtype_sizes);
    tcase_add_test(tc, context_settings);
    tcase_add_test(tc, context_uses_its_allocator);
    suite_add_tcase(s, tc);
    return s;
}
