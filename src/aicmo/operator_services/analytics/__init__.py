"""Phase C: what the sends and replies add up to (rollups, A/B results, attribution, ROI,
reports). Everything here reads the daily rollups or the events through the repository;
nothing here sends.
"""
