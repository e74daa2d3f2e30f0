"""Class names of the real datasets (used by the generators; the loaders read names from disk)."""

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip

CIFAR100_CLASSES = tuple(
    """
    apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus
    butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab
    crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo
    keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse
    mushroom
    oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine
    possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake
    spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger tractor
    train trout tulip turtle wardrobe whale willow_tree wolf woman worm
    """.split()
)

AG_NEWS_CLASSES = ("World", "Sports", "Business", "Sci/Tech")

# The 10 command words of the shared subset first, then the other 25 words of v0.02.
SPEECH_COMMANDS_WORDS = tuple(
    """
    down go left no off on right stop up yes
    backward bed bird cat dog eight five follow forward four happy house learn marvin nine one
    seven sheila six three tree two visual wow zero
    """.split()
)
