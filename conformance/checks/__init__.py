"""The clause checks, one test module per clause family. Test names start with the clause id
(``test_im1_...`` checks IM-1), which is how results are mapped back to clauses."""
