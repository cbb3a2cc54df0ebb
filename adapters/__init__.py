"""How to talk to each system: one subpackage per system with its client, conversion and simulator."""
