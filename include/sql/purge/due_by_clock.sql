-- Fragment: the row's clock started before the rule's cutoff.
t.{clock} < %(cutoff)s
