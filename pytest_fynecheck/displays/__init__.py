"""Layer: private X and Wayland displays and the one way to ask them."""
