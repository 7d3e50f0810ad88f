"""Adapters: the eight ports, their mock implementations (the simulated market) and live clients."""
