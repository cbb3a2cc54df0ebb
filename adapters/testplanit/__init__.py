"""TestPlanIt (model API of the real 0.11.x server): client, rich text, adapter and simulator."""
