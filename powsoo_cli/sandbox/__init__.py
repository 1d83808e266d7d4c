"""The Powsoo API emulated on loopback, with demo widgets for every failure."""
