/* Watches an X display for top-level windows as they map, without polling.
 *
 * Prints "ready" once it listens, then one line per client window that becomes
 * viewable or changes its title:
 *     map 0xWINDOW PID WIDTHxHEIGHT TITLE
 * PID is the window's _NET_WM_PID, or -1 when it has none. A window manager
 * reparents a client into an unnamed frame: the client inside is reported.
 * Runs until the display closes or it is killed.
 */
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static Atom net_wm_pid, net_wm_name, utf8_string, wm_state;

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

static void report(Display *d, Window top) {
    XWindowAttributes a;
    char title[1024];
    Window w = client_of(d, top, 2);
    if (w == None || !XGetWindowAttributes(d, w, &a) || a.map_state != IsViewable)
        return;
    title_of(d, w, title, sizeof title);
    printf("map 0x%lx %ld %dx%d %s\n", (unsigned long)w, pid_of(d, w), a.width, a.height, title);
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
    XSync(d, False);
    printf("ready\n");
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
