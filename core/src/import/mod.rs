//! Importers of other authenticators' exports (issue 6; in progress).
