/*
 * abi_consumer - a program built against libframebus.so (the other tests link the static
 * library), run by scripts/abi-check: the library the loader gives it must be the one its
 * header describes.
 *
 * usage: abi_consumer            checks fbus_abi(), fbus_protocol() and fbus_version()
 *        abi_consumer --structs  prints the sizes of the caller-allocated structs
 * Exits 0, or 1 with what differs.
 */
#include <framebus/framebus.h>
#include <stdio.h>
#include <string.h>

/* As bus/abi/libframebus.structs has them: pointer size, struct tag, size. */
#define SIZE(tag) printf("%zu %s %zu\n", sizeof(void *), #tag, sizeof(struct tag))

static int print_structs(void)
{
    SIZE(fbus_format);
    SIZE(fbus_writer_opts);
    SIZE(fbus_wslot);
    SIZE(fbus_reader_opts);
    SIZE(fbus_frame);
    SIZE(fbus_reader_status);
    SIZE(fbus_info);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--structs") == 0)
        return print_structs();
    if (fbus_abi() != FBUS_ABI || fbus_protocol() != FBUS_PROTOCOL ||
        fbus_version() != FBUS_VERSION_HEX) {
        fprintf(stderr,
                "abi_consumer: built for framebus %d.%d.%d (ABI %d, protocol %d), loaded %s "
                "(ABI %u, protocol %u)\n",
                FBUS_VERSION_MAJOR, FBUS_VERSION_MINOR, FBUS_VERSION_PATCH, FBUS_ABI, FBUS_PROTOCOL,
                fbus_version_string(), fbus_abi(), fbus_protocol());
        return 1;
    }
    printf("abi_consumer: framebus %s, ABI %u, protocol %u\n", fbus_version_string(), fbus_abi(),
           fbus_protocol());
    return 0;
}
