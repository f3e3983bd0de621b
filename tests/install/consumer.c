/* An application built against an installed framebus: proves headers, library and link flags. */
#include <framebus/framebus.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    struct fbus_format f;

    if (fbus_format_init(&f, FBUS_FMT_YUYV, 640, 480) != 0 || f.sizeimage != 614400)
        return 1;
    if (strcmp(fbus_version_string(), FBUS_VERSION_STRING_EXPECTED) != 0)
        return 2;
    printf("consumer ok: framebus %s, %s\n", fbus_version_string(), fbus_strerror(FBUS_EBUSY));
    return 0;
}
