/*
 * Status messages and the library version.
 */
#include "internal.h"

unsigned pal_version_number(void)
{
    return PAL_VERSION_NUMBER;
}

const char *pal_version_string(void)
{
    return PAL_VERSION_STRING;
}

const char *pal_status_message(int status)
{
    switch (status) {
#define PAL_STATUS_MSG_(name, value, msg) \
    case value:                           \
        return msg;
        PAL_STATUS_LIST(PAL_STATUS_MSG_)
#undef PAL_STATUS_MSG_
    }
    return "unknown status code";
}

const char *pal_status_name(int status)
{
    switch (status) {
#define PAL_STATUS_NAME_(name, value, msg) \
    case value:                            \
        return #name;
        PAL_STATUS_LIST(PAL_STATUS_NAME_)
#undef PAL_STATUS_NAME_
    }
    return "PAL_UNKNOWN";
}

size_t pal_dtype_size(pal_dtype_t dtype)
{
    switch (dtype) {
    case PAL_F32:
        return sizeof(float);
    case PAL_F64:
        return sizeof(double);
    }
    return 0;
}
