"""Data rights: what ``/export`` hands over and what ``/forget``, ``/retire`` and ``/forget_me`` delete."""
