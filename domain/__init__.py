"""The store deposit core: pure rules, a double-entry ledger and the use cases around them."""
