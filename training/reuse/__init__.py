"""The ModelReuse benchmark (paper Tables 1 and 5): the chain grammar, the model zoo and its pairs.

`chain` parses and renders reuse chains such as `pretrain(resnet18,imagenet)->transfer(flowers102,0.1)`;
`zoo` enumerates the benchmark's models, its 144 positive pairs and the models each detector needs.
"""
