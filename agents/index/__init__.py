"""The tuned index rule: weight per ticket type x service rate, with reservations."""
