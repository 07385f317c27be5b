"""Pipeliner (Coevera) dialect: `/api/v100/rest/spaces/{space}/entities/{Entity}` over the same core."""
