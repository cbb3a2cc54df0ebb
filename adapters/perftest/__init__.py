"""Huawei CodeArts PerfTest (cpts): tasks from PerfTest cases; and a simulator."""
