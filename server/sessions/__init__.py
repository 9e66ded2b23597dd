"""Group sessions and attendance (PROTOCOL §5): when a group meets, who may enter, who came."""
