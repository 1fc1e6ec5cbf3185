/* Watches an X display for top-level windows as they map, without polling, and says
 * which process each belongs to.
 *
 * Prints "ready XRES" once it listens, then one line per client window that becomes
 * viewable or changes its title:
 *     map 0xWINDOW WIDTHxHEIGHT NET XRES TITLE
 * NET is the process the window's _NET_WM_PID names (what the client says), XRES the
 * process the X server says holds the window's connection (X-Resource extension), each
 * "-" when unknown, else its lineage from /proc as read here, where the app runs:
 * PID:SID,PPID:SID,... up to init ("?" for a session that could not be read).
 * The ready line's XRES says whether the server's pids are ours: "pid" when it names
 * this probe's own pid for the probe's connection; otherwise why not ("none": no
 * extension; "other N": it names pid N, another pid namespace or a forwarded
 * display; "unknown": it names none; "off": built without libXRes).
 * A window manager reparents a client into an unnamed frame: the client inside is
 * reported. Runs until the display closes or it is killed.
 */
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifndef NO_XRES
#include <X11/extensions/XRes.h>
#endif

static Atom net_wm_pid, net_wm_name, utf8_string, wm_state;
static int xres_ok; /* the server's pids are this namespace's (see "ready") */

/* A window may vanish between the event and our question: not an error here. */
static int ignore_errors(Display *d, XErrorEvent *e) {
    (void)d;
    (void)e;
    return 0;
}

static long pid_of(Display *d, Window w) {
    Atom type;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    long pid = -1;
    if (XGetWindowProperty(d, w, net_wm_pid, 0, 1, False, XA_CARDINAL, &type, &format, &n,
                           &after, &data) == Success && data != NULL) {
        if (type == XA_CARDINAL && format == 32 && n == 1)
            pid = (long)*(unsigned long *)data;
        XFree(data);
    }
    return pid;
}

static void title_of(Display *d, Window w, char *buf, size_t size) {
    Atom type;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    buf[0] = '\0';
    if (XGetWindowProperty(d, w, net_wm_name, 0, 1024, False, utf8_string, &type, &format, &n,
                           &after, &data) == Success && data != NULL) {
        if (n > 0)
            snprintf(buf, size, "%s", (char *)data);
        XFree(data);
    }
    if (buf[0] == '\0') {
        char *name = NULL;
        if (XFetchName(d, w, &name) && name != NULL) {
            snprintf(buf, size, "%s", name);
            XFree(name);
        }
    }
    for (char *c = buf; *c; c++)
        if (*c == '\n')
            *c = ' ';
}

/* The client window: w itself when it carries a client's properties, else the first
 * child (two levels down at most) that does. */
static int is_client(Display *d, Window w) {
    Atom type;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    char title[8];
    if (pid_of(d, w) != -1)
        return 1;
    if (XGetWindowProperty(d, w, wm_state, 0, 1, False, AnyPropertyType, &type, &format, &n,
                           &after, &data) == Success && data != NULL) {
        XFree(data);
        if (type != None)
            return 1;
    }
    title_of(d, w, title, sizeof title);
    return title[0] != '\0';
}

static Window client_of(Display *d, Window w, int depth) {
    Window root, parent, *children = NULL, found = None;
    unsigned int n = 0;
    if (is_client(d, w))
        return w;
    if (depth == 0 || !XQueryTree(d, w, &root, &parent, &children, &n))
        return None;
    for (unsigned int i = n; i-- > 0 && found == None;)
        found = client_of(d, children[i], depth - 1);
    if (children)
        XFree(children);
    return found;
}

/* The pid of the client that created `xid`, as the server knows it from its socket
 * (-1: no extension, or the server cannot tell, e.g. a remote client). */
static long xres_pid(Display *d, XID xid) {
    long pid = -1;
#ifndef NO_XRES
    XResClientIdSpec spec = {xid, XRES_CLIENT_ID_PID_MASK};
    long n = 0;
    XResClientIdValue *ids = NULL;
    if (XResQueryClientIds(d, 1, &spec, &n, &ids) == Success) {
        for (long i = 0; i < n; i++)
            if (XResGetClientIdType(&ids[i]) == XRES_CLIENT_ID_PID)
                pid = XResGetClientPid(&ids[i]);
        XResClientIdsDestroy(n, ids);
    }
#else
    (void)d;
    (void)xid;
#endif
    return pid;
}

/* Whether the server's pids are ours: it must name this probe for its own pixmap. */
static const char *xres_status(Display *d, Window root, char *buf, size_t size) {
#ifndef NO_XRES
    int event_base, error_base;
    if (!XResQueryExtension(d, &event_base, &error_base))
        return "none";
    Pixmap mine = XCreatePixmap(d, root, 1, 1, 1);
    long pid = xres_pid(d, mine);
    XFreePixmap(d, mine);
    if (pid == (long)getpid()) {
        xres_ok = 1;
        return "pid";
    }
    if (pid == -1)
        return "unknown";
    snprintf(buf, size, "other %ld", pid);
    return buf;
#else
    (void)d;
    (void)root;
    (void)buf;
    (void)size;
    return "off";
#endif
}

/* "PID:SID,PPID:SID,..." from /proc, up to init: who started whom, read while the
 * window's process still runs. */
static void lineage(long pid, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    if (pid <= 0) {
        snprintf(buf, size, "-");
        return;
    }
    for (int depth = 0; pid > 0 && depth < 64 && used + 32 < size; depth++) {
        char path[64], stat[1024];
        long ppid = 0, sid = -1;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (f != NULL) {
            size_t got = fread(stat, 1, sizeof stat - 1, f);
            stat[got] = '\0';
            fclose(f);
            char *end = strrchr(stat, ')'); /* the command may hold spaces and ')' */
            if (end == NULL || sscanf(end + 1, " %*c %ld %*d %ld", &ppid, &sid) != 2)
                ppid = 0, sid = -1;
        }
        if (sid < 0)
            used += snprintf(buf + used, size - used, "%s%ld:?", depth ? "," : "", pid);
        else
            used += snprintf(buf + used, size - used, "%s%ld:%ld", depth ? "," : "", pid, sid);
        pid = ppid;
    }
}

static void report(Display *d, Window top) {
    XWindowAttributes a;
    char title[1024], net[2048], xres[2048];
    Window w = client_of(d, top, 2);
    if (w == None || !XGetWindowAttributes(d, w, &a) || a.map_state != IsViewable)
        return;
    title_of(d, w, title, sizeof title);
    lineage(pid_of(d, w), net, sizeof net);
    lineage(xres_ok ? xres_pid(d, w) : -1, xres, sizeof xres);
    printf("map 0x%lx %dx%d %s %s %s\n", (unsigned long)w, a.width, a.height, net, xres, title);
    fflush(stdout);
}

int main(void) {
    Display *d = XOpenDisplay(NULL);
    if (d == NULL) {
        fprintf(stderr, "cannot open display %s\n", XDisplayName(NULL));
        return 1;
    }
    XSetErrorHandler(ignore_errors);
    net_wm_pid = XInternAtom(d, "_NET_WM_PID", False);
    net_wm_name = XInternAtom(d, "_NET_WM_NAME", False);
    utf8_string = XInternAtom(d, "UTF8_STRING", False);
    wm_state = XInternAtom(d, "WM_STATE", False);
    Window root = DefaultRootWindow(d);
    XSelectInput(d, root, SubstructureNotifyMask);
    char other[64];
    const char *xres = xres_status(d, root, other, sizeof other);
    XSync(d, False);
    printf("ready %s\n", xres);
    fflush(stdout);
    for (;;) {
        XEvent e;
        XNextEvent(d, &e);
        switch (e.type) {
        case CreateNotify:
            /* Titles and a reparented client's own mapping arrive on the window itself. */
            if (e.xcreatewindow.parent == root)
                XSelectInput(d, e.xcreatewindow.window,
                             StructureNotifyMask | SubstructureNotifyMask | PropertyChangeMask);
            break;
        case MapNotify:
            report(d, e.xmap.window);
            break;
        case PropertyNotify:
            if (e.xproperty.atom == net_wm_name || e.xproperty.atom == XA_WM_NAME)
                report(d, e.xproperty.window);
            break;
        default:
            break;
        }
    }
}
