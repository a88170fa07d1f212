import torch

from wganlab.config import load_config
from wganlab.data.sources import embedded_mnist, make_source


def test_stacked_mnist_channels_are_real_digits_with_1000_labels():
    source = make_source(load_config(None, ["data=stacked-mnist"]).data, torch.device("cpu"))
    assert source.shape == (3, 28, 28) and source.num_classes == 1000
    torch.manual_seed(0)
    images, labels = source.sample_with_labels(4000)
    assert images.shape == (4000, 3, 28, 28) and images.min() == -1 and images.max() == 1
    assert labels.min() >= 0 and labels.max() <= 999 and len(labels.unique()) > 950
    digits, digit_labels = embedded_mnist()
    pixels = torch.from_numpy(digits).float() / 127.5 - 1
    for i in range(5):
        for channel, place in zip(range(3), (100, 10, 1), strict=True):
            digit = int(labels[i]) // place % 10
            match = (pixels == images[i, channel]).flatten(1).all(1).nonzero().flatten()
            assert len(match) >= 1 and int(digit_labels[match[0]]) == digit
