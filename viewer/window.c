/*
 * window.c - the SDL2 window of fbus-view: shows the newest frame as it
 * arrives, letterboxed to the window, with bus, format, rate, frame age and
 * drops in the title. Keys: space pause, s snapshot, f fullscreen, q/Esc quit.
 *
 * YUYV, UYVY, NV12 and YU12 go to SDL as YUV textures straight from the
 * slot (SDL converts them, on the GPU where there is one); RGB3 and BGR3 as
 * RGB24/BGR24 textures; GREY through fbus_convert_to_rgb24(). The frame is
 * released right after the upload, before rendering: a viewer holds a slot
 * for the time of one memcpy, so it can never make the writer drop frames.
 */
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

#ifndef FBUS_HAVE_SDL

int window_run(const struct view_opts *o, char *why, unsigned whylen)
{
    (void)o;
    snprintf(why, whylen, "fbus-view was built without SDL2 (install libsdl2-dev and rebuild)");
    return -1;
}

#else

#include <SDL.h>
#ifdef FBUS_HAVE_X11
#include <SDL_syswm.h>
#include <X11/Xatom.h>
#endif

#include "follow.h"
#include "log.h"
#include "png_io.h"

static const char TAG[] = "window";

#define MS              1000000ull
#define TITLE_PERIOD_NS (250 * MS)
#define DEFAULT_W       640
#define DEFAULT_H       480

struct win {
    const struct view_opts *o;
    struct follow f;
    SDL_Window *w;
    SDL_Renderer *ren;
    SDL_Texture *tex;
    struct fbus_format tfmt; /* what tex was made for */
    uint8_t *rgb;            /* GREY converted for upload */
    size_t rgb_cap;
    int sized; /* the window took the size of a first frame */
    int paused, fullscreen, quit, want_snap, dirty;
    uint64_t fs_check_ns;    /* when to see whether a window manager made us full screen */
    int fake_fs;             /* full screen done by hand: borderless, screen-sized */
    SDL_Rect before_fs;      /* the window's place before fake_fs */
    struct follow_copy copy; /* the frame frozen by pause, or to snapshot */
    uint64_t shown_seq, shown_ts;
    double age_ms; /* capture -> display of the frame on screen */
    uint64_t title_ns;
    int utf8; /* the locale can carry UTF-8 titles */
    char title[256];
};

/* SDL's texture format for a bus format; 0 if none can show it. */
static Uint32 sdl_format(uint32_t fourcc)
{
    switch (fourcc) {
    case FBUS_FMT_YUYV:
        return SDL_PIXELFORMAT_YUY2;
    case FBUS_FMT_UYVY:
        return SDL_PIXELFORMAT_UYVY;
    case FBUS_FMT_NV12:
        return SDL_PIXELFORMAT_NV12;
    case FBUS_FMT_YU12:
        return SDL_PIXELFORMAT_IYUV;
    case FBUS_FMT_RGB24:
        return SDL_PIXELFORMAT_RGB24;
    case FBUS_FMT_BGR24:
        return SDL_PIXELFORMAT_BGR24;
    case FBUS_FMT_GREY:
        return SDL_PIXELFORMAT_RGB24; /* after fbus_convert_to_rgb24 */
    default:
        return 0;
    }
}

/* The texture for fmt, made anew when the format changed. 0, or -1 if it cannot be shown. */
static int ensure_texture(struct win *w, const struct fbus_format *fmt)
{
    char fc[5];
    Uint32 sf;

    if (memcmp(&w->tfmt, fmt, sizeof(*fmt)) == 0)
        return w->tex ? 0 : -1; /* said once already */
    if (w->tex)
        SDL_DestroyTexture(w->tex);
    w->tex = NULL;
    w->tfmt = *fmt;
    if (!(sf = sdl_format(fmt->fourcc))) {
        app_log_warn(TAG,
                     "%s frames cannot be shown (no decoder); use fbus-view --snapshot "
                     "or another reader",
                     fbus_fourcc_str(fmt->fourcc, fc));
        return -1;
    }
    w->tex = SDL_CreateTexture(w->ren, sf, SDL_TEXTUREACCESS_STREAMING, (int)fmt->width,
                               (int)fmt->height);
    if (!w->tex) {
        app_log_error(TAG, "cannot make a %s %ux%u texture: %s", fbus_fourcc_str(fmt->fourcc, fc),
                      fmt->width, fmt->height, SDL_GetError());
        return -1;
    }
    return 0;
}

static int upload_grey(struct win *w, const struct fbus_format *f, const void *data, size_t len)
{
    size_t need = (size_t)f->width * f->height * 3;

    if (w->rgb_cap < need) {
        uint8_t *p = realloc(w->rgb, need);
        if (!p)
            return -1;
        w->rgb = p;
        w->rgb_cap = need;
    }
    if (fbus_convert_to_rgb24(f, data, len, w->rgb) != 0)
        return -1;
    return SDL_UpdateTexture(w->tex, NULL, w->rgb, (int)f->width * 3);
}

/* Copies one frame into the texture, honouring every plane's stride. */
static int upload(struct win *w, const struct fbus_format *f, const void *data, size_t len)
{
    const uint8_t *p = data;
    const int *st = (const int *)f->plane_stride;
    const uint32_t *off = f->plane_offset;

    if (len < f->sizeimage)
        return -1; /* a short frame: never read past what the writer says it wrote */
    switch (f->fourcc) {
    case FBUS_FMT_NV12:
        return SDL_UpdateNVTexture(w->tex, NULL, p + off[0], st[0], p + off[1], st[1]);
    case FBUS_FMT_YU12:
        return SDL_UpdateYUVTexture(w->tex, NULL, p + off[0], st[0], p + off[1], st[1], p + off[2],
                                    st[2]);
    case FBUS_FMT_GREY:
        return upload_grey(w, f, data, len);
    default:
        return SDL_UpdateTexture(w->tex, NULL, p + off[0], (int)f->bytesperline);
    }
}

/* The first frame decides the window size: frame x --scale, or fitted to the screen. */
static void size_window(struct win *w, const struct fbus_format *f)
{
    double s = w->o->scale > 0 ? w->o->scale : 1.0;
    int fw = (int)(f->width * s + 0.5), fh = (int)(f->height * s + 0.5);
    SDL_Rect b;

    w->sized = !w->fullscreen; /* sized when full screen ends */
    if (w->fullscreen)
        return;
    if (w->o->scale <= 0 && SDL_GetDisplayUsableBounds(0, &b) == 0 && (fw > b.w || fh > b.h)) {
        double k = SDL_min((double)b.w / fw, (double)b.h / fh);
        fw = (int)(fw * k);
        fh = (int)(fh * k);
    }
    SDL_SetWindowSize(w->w, fw > 0 ? fw : 1, fh > 0 ? fh : 1);
    SDL_SetWindowPosition(w->w, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED);
}

#ifdef FBUS_HAVE_X11
/* Is there a window manager (EWMH: _NET_SUPPORTING_WM_CHECK on the root)? 1 if unsure. */
static int have_window_manager(SDL_Window *win)
{
    SDL_SysWMinfo info;
    unsigned long n = 0, left;
    unsigned char *data = NULL;
    Atom check, type;
    int format;

    SDL_VERSION(&info.version);
    if (!SDL_GetWindowWMInfo(win, &info) || info.subsystem != SDL_SYSWM_X11)
        return 1;
    check = XInternAtom(info.info.x11.display, "_NET_SUPPORTING_WM_CHECK", True);
    if (check == None)
        return 0;
    if (XGetWindowProperty(info.info.x11.display, DefaultRootWindow(info.info.x11.display), check,
                           0, 1, False, XA_WINDOW, &type, &format, &n, &left, &data) != Success)
        n = 0;
    if (data)
        XFree(data);
    return n > 0;
}
#else
static int have_window_manager(SDL_Window *win)
{
    (void)win;
    return 1;
}
#endif

/*
 * SDL asks the window manager for full screen (_NET_WM_STATE). Without one
 * (a bare X server: kiosks, Xvfb) nothing would happen, so cover the
 * display with a borderless window instead.
 */
static void fake_fullscreen(struct win *w, int on)
{
    SDL_Rect b;

    if (!on) {
        SDL_SetWindowBordered(w->w, SDL_TRUE);
        SDL_SetWindowSize(w->w, w->before_fs.w, w->before_fs.h);
        SDL_SetWindowPosition(w->w, w->before_fs.x, w->before_fs.y);
        w->fake_fs = 0;
        return;
    }
    if (SDL_GetDisplayBounds(SDL_GetWindowDisplayIndex(w->w), &b) != 0)
        return;
    SDL_GetWindowPosition(w->w, &w->before_fs.x, &w->before_fs.y);
    SDL_GetWindowSize(w->w, &w->before_fs.w, &w->before_fs.h);
    SDL_SetWindowBordered(w->w, SDL_FALSE);
    SDL_SetWindowPosition(w->w, b.x, b.y);
    SDL_SetWindowSize(w->w, b.w, b.h);
    SDL_RaiseWindow(w->w);
    w->fake_fs = 1;
}

static void set_fullscreen(struct win *w, int on)
{
    w->fullscreen = on;
    w->dirty = w->dirty ? w->dirty : 1;
    if (w->fake_fs || (on && !have_window_manager(w->w)))
        fake_fullscreen(w, on);
    else
        SDL_SetWindowFullscreen(w->w, on ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
}

/*
 * fbus-snap-<seq>.png in the current directory, never replacing a file: a
 * name already taken (an earlier run, a bus made anew, a planted link) gets
 * -2, -3... appended instead.
 */
static void save_snapshot(struct win *w)
{
    unsigned long long seq = (unsigned long long)w->copy.seq;
    char name[64];
    int rc = -EEXIST;

    for (int n = 1; n < 100 && rc == -EEXIST; n++) {
        if (n == 1)
            snprintf(name, sizeof(name), "fbus-snap-%llu.png", seq);
        else
            snprintf(name, sizeof(name), "fbus-snap-%llu-%d.png", seq, n);
        rc = app_png_write_frame_at(AT_FDCWD, name, APP_NOREPLACE, &w->copy.fmt, w->copy.data,
                                    w->copy.len);
    }
    if (rc == 0)
        app_log_info(TAG, "saved %s", name);
    else
        app_log_error(TAG, "cannot write '%s' in the current directory: %s", name,
                      fbus_strerror(rc));
}

/* A new frame: upload, copy if a snapshot or a pause wants it, release at once. */
static void show_frame(struct win *w, struct fbus_frame *fr)
{
    int keep = w->want_snap || w->paused;
    int ok =
        ensure_texture(w, &fr->format) == 0 && upload(w, &fr->format, fr->data, fr->bytesused) == 0;
    int copied = keep && follow_copy_take(&w->copy, fr) == 0;

    follow_release(&w->f, fr);
    if (!ok && w->tex)
        APP_LOG_RATELIMITED(APP_LOG_WARN, TAG, "frame %llu (%zu bytes) not shown: %s",
                            (unsigned long long)fr->seq, fr->bytesused, SDL_GetError());
    if (!w->sized)
        size_window(w, &fr->format);
    w->shown_seq = fr->seq;
    w->shown_ts = fr->timestamp_ns;
    w->dirty = 2; /* 2: a new frame, measure its age once presented */
    if (w->want_snap && copied)
        save_snapshot(w);
    w->want_snap = 0;
    if (w->paused && !copied)
        w->copy.len = 0;
}

/* Where the frame lands: as large as fits, aspect kept, centred (letterbox). */
static SDL_Rect letterbox(int fw, int fh, int ow, int oh)
{
    SDL_Rect r;

    if ((int64_t)ow * fh > (int64_t)oh * fw) {
        r.h = oh;
        r.w = (int)((int64_t)oh * fw / fh);
    } else {
        r.w = ow;
        r.h = (int)((int64_t)ow * fh / fw);
    }
    r.x = (ow - r.w) / 2;
    r.y = (oh - r.h) / 2;
    return r;
}

static void render(struct win *w)
{
    int ow, oh;

    SDL_SetRenderDrawColor(w->ren, 0, 0, 0, 255);
    SDL_RenderClear(w->ren);
    if (w->tex && SDL_GetRendererOutputSize(w->ren, &ow, &oh) == 0 && ow > 0 && oh > 0) {
        SDL_Rect dst = letterbox((int)w->tfmt.width, (int)w->tfmt.height, ow, oh);
        SDL_RenderCopy(w->ren, w->tex, NULL, &dst);
    }
    SDL_RenderPresent(w->ren);
    if (w->dirty == 2 && w->shown_ts) {
        uint64_t now = fbus_now_ns();
        w->age_ms = now > w->shown_ts ? (double)(now - w->shown_ts) / 1e6 : 0;
    }
    w->dirty = 0;
}

/*
 * Xlib converts titles through the locale: in the C locale a "—" or "…"
 * makes SDL's _NET_WM_NAME update fail and WM_NAME come out garbled.
 */
static void fold_ascii(const char *in, char *out, size_t len)
{
    static const struct {
        const char *from, *to;
    } map[] = {{"—", "-"}, {"…", "..."}};
    size_t n = 0;

    while (*in && n + 4 < len) {
        unsigned i = 0;
        while (i < 2 && strncmp(in, map[i].from, strlen(map[i].from)) != 0)
            i++;
        if (i < 2) {
            n += (size_t)snprintf(out + n, len - n, "%s", map[i].to);
            in += strlen(map[i].from);
        } else {
            out[n++] = *in++;
        }
    }
    out[n] = 0;
}

/* " (writer 60.0)" when the writer publishes faster than the window shows; else "". */
static const char *writer_rate(const struct win *w, char *buf, size_t len)
{
    const struct follow_report *r = &w->f.last;

    if (w->paused || r->writer_fps <= 0 || r->writer_fps < r->fps * 1.1)
        return "";
    snprintf(buf, len, " (writer %.1f)", r->writer_fps);
    return buf;
}

static void update_title(struct win *w, uint64_t now)
{
    char t[sizeof(w->title)], st[128], fc[5], wr[32];
    const struct fbus_format *f = &w->f.fmt;

    if (now - w->title_ns < TITLE_PERIOD_NS)
        return;
    w->title_ns = now;
    if (w->f.state == FOLLOW_LIVE && f->fourcc) {
        snprintf(t, sizeof(t), "%s — %s %ux%u — %.1f fps%s — age %.1f ms — drops %llu%s", w->o->bus,
                 fbus_fourcc_str(f->fourcc, fc), f->width, f->height, w->f.last.fps,
                 writer_rate(w, wr, sizeof(wr)), w->age_ms, (unsigned long long)w->f.drops,
                 w->paused ? " — paused" : "");
    } else {
        snprintf(t, sizeof(t), "%s — %s%s", w->o->bus, follow_state_text(&w->f, st, sizeof(st)),
                 w->paused ? " — paused" : "");
    }
    if (!w->utf8) {
        char u[sizeof(t)];
        memcpy(u, t, sizeof(t));
        fold_ascii(u, t, sizeof(t));
    }
    if (strcmp(t, w->title) != 0) {
        memcpy(w->title, t, sizeof(t));
        SDL_SetWindowTitle(w->w, w->title);
        app_log_debug(TAG, "title: %s", w->title);
    }
}

static void on_key(struct win *w, SDL_Keycode k)
{
    switch (k) {
    case SDLK_SPACE:
        w->paused = !w->paused;
        if (!w->paused)
            follow_skip_gap(&w->f); /* what a pause skipped is not a drop */
        w->copy.len = 0;            /* pausing freezes on the next frame, copied out */
        w->title_ns = 0;
        break;
    case SDLK_s:
        if (w->paused && w->copy.len)
            save_snapshot(w);
        else
            w->want_snap = 1; /* the next frame */
        break;
    case SDLK_f:
        set_fullscreen(w, !w->fullscreen);
        break;
    case SDLK_q:
    case SDLK_ESCAPE:
        w->quit = 1;
        break;
    default:
        break;
    }
}

static void pump_events(struct win *w)
{
    SDL_Event ev;

    while (SDL_PollEvent(&ev)) {
        if (ev.type == SDL_QUIT)
            w->quit = 1;
        else if (ev.type == SDL_KEYDOWN)
            on_key(w, ev.key.keysym.sym);
        else if (ev.type == SDL_WINDOWEVENT && !w->dirty)
            w->dirty = 1; /* exposed, resized...: draw the texture again */
    }
}

/* One turn of the loop: events, at most VIEW_SLICE_MS waiting for a frame, drawing. */
static void step(struct win *w)
{
    struct follow_report rep;
    struct fbus_frame fr;
    char line[256];
    uint64_t now;

    pump_events(w);
    if (!w->paused || !w->copy.len) {
        if (follow_next(&w->f, &fr, VIEW_SLICE_MS) == 0)
            show_frame(w, &fr);
    } else {
        SDL_WaitEventTimeout(NULL, VIEW_SLICE_MS);
    }
    if (w->dirty)
        render(w);
    now = fbus_now_ns();
    if (follow_tick(&w->f, now, &rep) && w->o->stats) {
        follow_format_report(&w->f, &rep, line, sizeof(line));
        fputs(line, stdout);
        fflush(stdout);
    }
    update_title(w, now);
}

/* Mesa's GL in software (Xvfb, boards without a GPU driver)? Needs the renderer's context. */
static int gl_is_software(SDL_Renderer *ren)
{
    typedef const unsigned char *(*get_string_fn)(unsigned);
    SDL_RendererInfo ri;
    get_string_fn get;
    const char *name;

    if (SDL_GetRendererInfo(ren, &ri) != 0 || strncmp(ri.name, "opengl", 6) != 0)
        return 0;
    get = (get_string_fn)(uintptr_t)SDL_GL_GetProcAddress("glGetString");
    name = get ? (const char *)get(0x1F01 /* GL_RENDERER */) : NULL;
    return name && (strstr(name, "llvmpipe") || strstr(name, "softpipe") ||
                    strstr(name, "Software Rasterizer"));
}

/*
 * Where GL is emulated on the CPU, SDL's own software renderer (SIMD YUV
 * conversion, drawn with XShm) costs several times less CPU per frame (see
 * docs/viewer.md). A renderer the user chose with SDL_RENDER_DRIVER is kept.
 */
static void avoid_software_gl(struct win *w)
{
    SDL_Renderer *sw;

    if (getenv("SDL_RENDER_DRIVER") || !gl_is_software(w->ren))
        return;
    SDL_DestroyRenderer(w->ren);
    SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
    sw = SDL_CreateRenderer(w->w, -1, SDL_RENDERER_SOFTWARE);
    w->ren = sw ? sw : SDL_CreateRenderer(w->w, -1, 0);
}

/*
 * A DISPLAY where no X server answers (stale, the server gone) does not make
 * SDL_Init() fail: SDL 2.26 falls through x11, wayland and KMSDRM to its
 * "offscreen" driver, which draws into memory, and the viewer would run with
 * no window and no word. offscreen and dummy are only meant when the user
 * asks for them (SDL_VIDEODRIVER). 1 with the reason in why if SDL fell
 * back to one by itself.
 */
static int no_real_display(char *why, unsigned whylen)
{
    const char *drv = SDL_GetCurrentVideoDriver(), *asked = getenv("SDL_VIDEODRIVER");
    const char *x = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");

    if (!drv || (strcmp(drv, "offscreen") != 0 && strcmp(drv, "dummy") != 0))
        return 0;
    if (asked && strstr(asked, drv))
        return 0;
    snprintf(why, whylen,
             "the display is unusable: nothing answers at %s%s%s%s%s (SDL found no video "
             "driver that works and fell back to '%s', which shows nothing); check DISPLAY",
             x ? "DISPLAY=" : "", x ? x : "", x && wl ? " or " : "", wl ? "WAYLAND_DISPLAY=" : "",
             wl ? wl : "", drv);
    return 1;
}

/* SDL, the window and its renderer. 0, or -1 with the reason in why. */
static int open_window(struct win *w, char *why, unsigned whylen)
{
    Uint32 flags = SDL_WINDOW_RESIZABLE; /* full screen comes after: see set_fullscreen() */
    double s = w->o->scale > 0 ? w->o->scale : 1.0;

    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1"); /* ours set view_stop */
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear");
    if (SDL_Init(SDL_INIT_VIDEO) != 0) {
        snprintf(why, whylen, "SDL video: %s", SDL_GetError());
        return -1;
    }
    if (no_real_display(why, whylen)) {
        SDL_Quit();
        return -1;
    }
    /* The bus carries BT.601 limited range, as V4L2 cameras do; SDL would pick BT.709 for HD. */
    SDL_SetYUVConversionMode(SDL_YUV_CONVERSION_BT601);
    w->w = SDL_CreateWindow("fbus-view", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED,
                            (int)(DEFAULT_W * s), (int)(DEFAULT_H * s), flags);
    if (w->w)
        w->ren = SDL_CreateRenderer(w->w, -1, 0);
    if (w->ren)
        avoid_software_gl(w);
    if (!w->w || !w->ren) {
        snprintf(why, whylen, "SDL window: %s", SDL_GetError());
        if (w->w)
            SDL_DestroyWindow(w->w);
        SDL_Quit();
        return -1;
    }
    return 0;
}

static void log_renderer(struct win *w)
{
    SDL_RendererInfo ri;

    if (SDL_GetRendererInfo(w->ren, &ri) == 0)
        app_log_debug(TAG, "SDL %s renderer, video driver %s", ri.name,
                      SDL_GetCurrentVideoDriver());
}

int window_run(const struct view_opts *o, char *why, unsigned whylen)
{
    struct win *w;

    if (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")) {
        snprintf(why, whylen, "no display (DISPLAY and WAYLAND_DISPLAY are unset)");
        return -1;
    }
    if (!(w = calloc(1, sizeof(*w)))) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    w->o = o;
    setlocale(LC_CTYPE, ""); /* for Xlib's title conversion */
    w->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    if (open_window(w, why, whylen) != 0) {
        free(w);
        return -1;
    }
    log_renderer(w);
    int ret = follow_init(&w->f, o->bus) == 0 ? VIEW_EXIT_OK : VIEW_EXIT_INTERNAL;
    w->dirty = 1;
    if (o->fullscreen && ret == VIEW_EXIT_OK)
        set_fullscreen(w, 1);
    while (ret == VIEW_EXIT_OK && !w->quit && !view_stop)
        step(w);
    follow_fini(&w->f);
    follow_copy_free(&w->copy);
    free(w->rgb);
    if (w->tex)
        SDL_DestroyTexture(w->tex);
    SDL_DestroyRenderer(w->ren);
    SDL_DestroyWindow(w->w);
    SDL_Quit();
    free(w);
    return ret;
}

#endif /* FBUS_HAVE_SDL */
