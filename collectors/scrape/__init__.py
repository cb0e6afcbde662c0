"""Scraping /metrics pages: fetch, parse (fast path and fallback), per-minute increases,
service rows and page-readable SLIs."""

from collectors.scrape.scraper import MetricNames, PageScraper, Target

__all__ = ["MetricNames", "PageScraper", "Target"]
