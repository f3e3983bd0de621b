/*
 * names.c - bus names and the System V keys derived from them.
 */
#include <string.h>

#include "framebus/framebus.h"

int fbus_name_check(const char *name)
{
    size_t n;

    if (!name)
        return FBUS_ENAME;
    n = strlen(name);
    if (n == 0 || n > FBUS_NAME_MAX)
        return FBUS_ENAME;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return FBUS_ENAME;
    }
    return 0;
}

/*
 * FNV-1a over "framebus:NAME", folded to 24 bits under a 0xFB prefix. The
 * prefix keeps keys out of IPC_PRIVATE (0) and shows them in `ipcs`; 24 bits
 * make collisions rare, and the header's name field catches the rest.
 */
uint32_t fbus_key_from_name(const char *name)
{
    static const char prefix[] = "framebus:";
    uint32_t h = 2166136261u;

    if (fbus_name_check(name) != 0)
        return 0;
    for (const char *p = prefix; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return 0xFB000000u | (h & 0x00FFFFFFu);
}
