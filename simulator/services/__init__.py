"""Services: use cases over the store, the clock and the transport, shared by every edge."""
