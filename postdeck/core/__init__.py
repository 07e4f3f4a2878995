"""postdeck's vocabulary: the words every layer shares. It imports nothing else of postdeck."""
