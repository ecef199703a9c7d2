"""trailhound: hunt cloud API abuse in cloud audit logs.

Data flows one way: sources -> normalize -> engine -> scoring -> report; cli sits on top.
"""

__version__ = "0.1.0"
