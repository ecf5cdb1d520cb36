"""A local stand-in for ShortAPI: same contract, real HTTP, real MP4s, no money spent."""
