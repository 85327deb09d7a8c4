"""EEG models: CBraMod-lite and its full-attention twin, EEGNet, the sleep-staging CNN-GRU, their loops."""
