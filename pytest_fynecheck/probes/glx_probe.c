/* Creates a real GLX context on $DISPLAY, as GLFW's X11 backend does, and prints what it got. */
#include <stdio.h>
#include <X11/Xlib.h>
#include <GL/gl.h>
#include <GL/glx.h>

int main(void) {
    Display *dpy = XOpenDisplay(NULL);
    if (!dpy) {
        fprintf(stderr, "cannot open display\n");
        return 2;
    }
    int attrs[] = {GLX_RGBA, GLX_DOUBLEBUFFER, GLX_RED_SIZE, 8, GLX_GREEN_SIZE, 8,
                   GLX_BLUE_SIZE, 8, GLX_DEPTH_SIZE, 16, None};
    XVisualInfo *vi = glXChooseVisual(dpy, DefaultScreen(dpy), attrs);
    if (!vi) {
        fprintf(stderr, "no GLX visual: the X server has no GLX, or no RGBA double-buffered visual\n");
        return 3;
    }
    GLXContext ctx = glXCreateContext(dpy, vi, NULL, True);
    if (!ctx) {
        fprintf(stderr, "glXCreateContext failed\n");
        return 4;
    }
    Window root = RootWindow(dpy, vi->screen);
    XSetWindowAttributes swa;
    swa.colormap = XCreateColormap(dpy, root, vi->visual, AllocNone);
    swa.border_pixel = 0;
    Window win = XCreateWindow(dpy, root, 0, 0, 16, 16, 0, vi->depth, InputOutput, vi->visual,
                               CWColormap | CWBorderPixel, &swa);
    if (!glXMakeCurrent(dpy, win, ctx)) {
        fprintf(stderr, "glXMakeCurrent failed\n");
        return 5;
    }
    printf("renderer=%s\n", (const char *)glGetString(GL_RENDERER));
    printf("version=%s\n", (const char *)glGetString(GL_VERSION));
    printf("vendor=%s\n", (const char *)glGetString(GL_VENDOR));
    printf("direct=%s\n", glXIsDirect(dpy, ctx) ? "yes" : "no");
    glXMakeCurrent(dpy, None, NULL);
    glXDestroyContext(dpy, ctx);
    XDestroyWindow(dpy, win);
    XCloseDisplay(dpy);
    return 0;
}
