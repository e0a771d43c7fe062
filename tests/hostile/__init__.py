"""The hostile suite: several hundred calls a new user might make, each compared
with the plain function at every level (see harness.py for what is compared)."""
