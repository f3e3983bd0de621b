/*
 * test_corrupt.cpp - the header is untrusted input. A real bus is made, then
 * its header is damaged through a read-write mapping (the test owns it), and
 * readers and tools must answer with a distinct error, never a crash or an
 * out-of-bounds read. Run under AddressSanitizer in CI as well.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include <functional>
#include <random>

#include "fbus_test.h"
#include "layout.h"
#include "pattern.h"

class Corrupt : public BusTest {
  protected:
    /* A bus with one published frame, kept, its writer gone: ready to be damaged. */
    void SetUp() override
    {
        name_ = bus("cor");
        struct fbus_format f;
        ASSERT_EQ(0, fbus_format_init(&f, FBUS_FMT_RGB24, 64, 48));
        struct fbus_writer_opts o;
        fbus_writer_opts_init(&o);
        o.keep = 1;
        fbus_writer *w;
        ASSERT_EQ(0, fbus_writer_open(&w, name_.c_str(), &f, &o));
        ASSERT_EQ(0, fbus_writer_publish(w, std::vector<uint8_t>(f.sizeimage, 7).data(),
                                         f.sizeimage, 0));
        ASSERT_EQ(0, fbus_writer_close(w));
        shmid_ = shmget((key_t)fbus_key_from_name(name_.c_str()), 0, 0);
        ASSERT_GE(shmid_, 0);
        void *p = shmat(shmid_, nullptr, 0);
        ASSERT_NE((void *)-1, p);
        hdr_ = (struct fbus_shm_header *)p;
    }
    void TearDown() override
    {
        if (hdr_)
            shmdt(hdr_);
        BusTest::TearDown();
    }
    int open_rc()
    {
        fbus_reader *r = nullptr;
        int rc = fbus_reader_open(&r, name_.c_str(), nullptr);
        fbus_reader_close(r);
        return rc;
    }
    /* Damages one thing, checks reader and info, then puts it back. */
    void expect(const char *what, int want, const std::function<void()> &damage,
                int info_want = 1)
    {
        std::vector<uint8_t> saved(sizeof(*hdr_));
        memcpy(saved.data(), hdr_, saved.size());
        damage();
        EXPECT_EQ(want, open_rc()) << what << ": got " << fbus_err_name(open_rc());
        struct fbus_info info;
        /* Inspection by shm id does not know the name to expect: only the damage counts. */
        if (info_want == 1)
            info_want = want == FBUS_ECOLLISION ? 0 : want;
        EXPECT_EQ(info_want, fbus_info_shmid(shmid_, &info))
            << what << " (info)";
        memcpy(hdr_, saved.data(), saved.size());
        EXPECT_EQ(0, open_rc()) << what << ": restoring failed";
    }
    std::string name_;
    int shmid_ = -1;
    struct fbus_shm_header *hdr_ = nullptr;
};

TEST_F(Corrupt, IdentityFields)
{
    /* Without the magic, tools cannot tell it from another program's segment. */
    expect("bad magic", FBUS_ECORRUPT, [&] { hdr_->magic = 0x12345678; }, FBUS_ECOLLISION);
    expect("abi version", FBUS_EVERSION, [&] { hdr_->abi_version = 99; });
    expect("header size", FBUS_ECORRUPT, [&] { hdr_->header_size = 12; });
    expect("header size past slot 0", FBUS_ECORRUPT, [&] { hdr_->header_size = 1u << 30; });
    expect("name without NUL", FBUS_ECORRUPT, [&] { memset(hdr_->name, 'a', 32); });
    expect("name with bad chars", FBUS_ECORRUPT, [&] { hdr_->name[0] = '/'; });
    expect("another name", FBUS_ECOLLISION, [&] { strcpy(hdr_->name, "someone.else"); });
}

TEST_F(Corrupt, SlotGeometry)
{
    for (uint32_t n : {0u, 1u, 17u, 1000u, 0xFFFFFFFFu})
        expect("slot count", FBUS_ECORRUPT, [&] { hdr_->slot_count = n; });
    /* Two slots fit; three do not. */
    expect("slot count beyond the segment", FBUS_ECORRUPT, [&] { hdr_->slot_count = 16; });
    for (uint64_t c : {0ull, 100ull, 4097ull, 1ull << 40, ~0ull - 4095})
        expect("slot capacity", FBUS_ECORRUPT, [&] { hdr_->slot_capacity = c; });
    for (uint64_t o : {0ull, 123ull, 1ull << 40, ~0ull - 4095})
        expect("slot 0 offset", FBUS_ECORRUPT, [&] { hdr_->slot0_offset = o; });
}

TEST_F(Corrupt, FormatFields)
{
    expect("fourcc", FBUS_ECORRUPT, [&] { hdr_->format.fourcc = 0x41414141; });
    expect("width 0", FBUS_ECORRUPT, [&] { hdr_->format.width = 0; });
    expect("huge width", FBUS_ECORRUPT, [&] { hdr_->format.width = 1u << 31; });
    expect("bytesperline too small", FBUS_ECORRUPT, [&] { hdr_->format.bytesperline = 3; });
    expect("sizeimage beyond slot", FBUS_ECORRUPT,
           [&] { hdr_->format.sizeimage = (uint32_t)hdr_->slot_capacity + 1; });
    expect("planes", FBUS_ECORRUPT, [&] { hdr_->format.nplanes = 7; });
    expect("plane offset", FBUS_ECORRUPT, [&] { hdr_->format.plane_offset[0] = 1u << 30; });
}

TEST_F(Corrupt, DescriptorsAfterOpen)
{
    fbus_reader *r;
    ASSERT_EQ(0, fbus_reader_open(&r, name_.c_str(), nullptr));
    struct fbus_frame f;
    uint32_t latest = hdr_->latest;

    hdr_->latest = 99;
    EXPECT_EQ(FBUS_ECORRUPT, fbus_reader_acquire(r, &f, 0, 0)) << "latest out of range";
    hdr_->latest = 0xFFFFFFFF;
    EXPECT_EQ(FBUS_ECORRUPT, fbus_reader_acquire(r, &f, 0, 0));
    hdr_->latest = latest;
    uint32_t used = hdr_->slots[latest].bytesused;
    hdr_->slots[latest].bytesused = (uint32_t)hdr_->slot_capacity + 1;
    EXPECT_EQ(FBUS_ECORRUPT, fbus_reader_acquire(r, &f, 0, 0)) << "bytes used beyond capacity";
    hdr_->slots[latest].bytesused = used;
    /* Geometry changed under an open reader is ignored: it kept its validated copy. */
    hdr_->slot_capacity = 1ull << 40;
    hdr_->format.width = 9999;
    ASSERT_EQ(0, fbus_reader_acquire(r, &f, 0, 0));
    EXPECT_EQ(64u, f.format.width);
    EXPECT_EQ(((const uint8_t *)f.data)[f.bytesused - 1], 7);
    fbus_reader_release(r, &f);
    fbus_reader_close(r);
}

TEST_F(Corrupt, SegmentSmallerThanAHeader)
{
    std::string n = bus("tiny");
    uint32_t key = fbus_key_from_name(n.c_str());
    int id = shmget((key_t)key, 64, IPC_CREAT | IPC_EXCL | 0600);
    ASSERT_GE(id, 0);
    uint32_t *p = (uint32_t *)shmat(id, nullptr, 0);
    p[0] = FBUS_MAGIC;
    p[1] = FBUS_ABI_VERSION;
    shmdt(p);
    fbus_reader *r = nullptr;
    EXPECT_EQ(FBUS_ECORRUPT, fbus_reader_open(&r, n.c_str(), nullptr));
    /* fbus rm mends it (a corrupt bus of ours may be removed). */
    EXPECT_EQ(0, fbus_remove(n.c_str(), 0, 0));
}

/* The [lo, hi) of the mapping in /proc/self/maps that holds p. */
static bool mapping_of(const void *p, uintptr_t *lo, uintptr_t *hi)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    bool found = false;
    while (f && !found && fgets(line, sizeof(line), f)) {
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx", &a, &b) == 2 && (uintptr_t)p >= a && (uintptr_t)p < b) {
            *lo = a;
            *hi = b;
            found = true;
        }
    }
    if (f)
        fclose(f);
    return found;
}

/* Random damage to random header bytes: an error or a frame inside the segment, never a crash. */
TEST_F(Corrupt, RandomHeaderBytes)
{
    std::mt19937 rng(1234);
    std::vector<uint8_t> saved(sizeof(*hdr_));
    memcpy(saved.data(), hdr_, saved.size());
    struct shmid_ds ds;
    ASSERT_EQ(0, shmctl(shmid_, IPC_STAT, &ds));
    int opened = 0;
    for (int round = 0; round < 3000; round++) {
        memcpy(hdr_, saved.data(), saved.size());
        int n = 1 + (int)(rng() % 8);
        for (int i = 0; i < n; i++) {
            size_t off = rng() % (offsetof(struct fbus_shm_header, slots) + 3 * 64);
            ((uint8_t *)hdr_)[off] = (uint8_t)rng();
        }
        fbus_reader *r = nullptr;
        int rc = fbus_reader_open(&r, name_.c_str(), nullptr);
        if (rc != 0) {
            EXPECT_LT(rc, 0);
            continue;
        }
        opened++;
        struct fbus_frame f;
        if (fbus_reader_acquire(r, &f, 0, 0) == 0) {
            /* The frame lies inside the reader's own mapping of the segment. */
            uintptr_t lo = 0, hi = 0;
            ASSERT_TRUE(mapping_of(f.data, &lo, &hi));
            EXPECT_EQ(ds.shm_segsz, hi - lo) << "the frame is in a mapping of the segment";
            EXPECT_LE((uintptr_t)f.data + f.bytesused, hi);
            volatile uint8_t sink = 0;
            for (size_t k = 0; k < f.bytesused; k += 512)
                sink ^= ((const uint8_t *)f.data)[k];
            (void)sink;
            fbus_reader_release(r, &f);
        }
        fbus_reader_close(r);
    }
    memcpy(hdr_, saved.data(), saved.size());
    RecordProperty("opened", opened);
}

/* A writer killed between shmget and its header leaves zeros: fbus ls shows it, rm --force mends. */
TEST_F(Corrupt, HalfMadeSegmentIsListedAndRemovableWithForce)
{
    std::string n = bus("half");
    int id = shmget((key_t)fbus_key_from_name(n.c_str()), 3 * 4096, IPC_CREAT | IPC_EXCL | 0600);
    ASSERT_GE(id, 0);
    fbus_reader *r = nullptr;
    EXPECT_EQ(FBUS_ENOBUS, fbus_reader_open(&r, n.c_str(), nullptr)) << "not there yet";
    struct Seen {
        int shmid;
        int rc;
    } seen = {id, 1};
    fbus_list(
        [](const struct fbus_info *i, int rc, void *ctx) {
            Seen *s = (Seen *)ctx;
            if (i->shmid == s->shmid)
                s->rc = rc;
            return 0;
        },
        &seen);
    EXPECT_EQ(FBUS_ECORRUPT, seen.rc) << "fbus ls lists it as corrupt";
    EXPECT_EQ(FBUS_ECORRUPT, fbus_remove(n.c_str(), 0, 0));
    EXPECT_EQ(0, fbus_remove(n.c_str(), 0, 1));
    struct shmid_ds ds;
    EXPECT_NE(0, shmctl(id, IPC_STAT, &ds));
}
