"""Tools that check the conformance suite itself: the kill table (mutants and variants), peers
(published FastEstimator code) and flakiness runs. Not part of the suite; nothing here is imported by
``conformance`` or ``reference``."""
