/* Connects to $WAYLAND_DISPLAY, does a registry round trip and prints the compositor's globals. */
#include <stdio.h>
#include <wayland-client.h>

static void global(void *data, struct wl_registry *reg, uint32_t name, const char *iface,
                   uint32_t version) {
    (void)data; (void)reg; (void)name;
    printf("global=%s %u\n", iface, version);
}

static void global_remove(void *data, struct wl_registry *reg, uint32_t name) {
    (void)data; (void)reg; (void)name;
}

static const struct wl_registry_listener listener = {global, global_remove};

int main(void) {
    struct wl_display *dpy = wl_display_connect(NULL);
    if (!dpy) {
        fprintf(stderr, "cannot connect to the Wayland display\n");
        return 2;
    }
    struct wl_registry *reg = wl_display_get_registry(dpy);
    wl_registry_add_listener(reg, &listener, NULL);
    if (wl_display_roundtrip(dpy) < 0) {
        fprintf(stderr, "registry round trip failed\n");
        return 3;
    }
    wl_registry_destroy(reg);
    wl_display_disconnect(dpy);
    return 0;
}
