"""apptest.ai CI API: start a test set, poll it, fetch its JUnit result; and a simulator."""
