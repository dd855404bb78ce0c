# Prints r-stl.fixture.json: R's stl() on two committed real series (run from the repository root:
# Rscript src/scaling/forecast/r-stl.fixture.R > src/scaling/forecast/r-stl.fixture.json).
e <- read.csv("src/scaling/test-data/real/taylor-electricity.csv")$requests[1:336]
a <- read.csv("src/scaling/test-data/real/us-flights-2001-atl.csv")$requests[1:504]
s1 <- stl(ts(e, frequency = 24), s.window = 7)
s2 <- stl(ts(a, frequency = 168), s.window = "periodic")
v <- function(x) paste(sprintf("%.10g", as.numeric(x)), collapse = ", ")
cat(sprintf('{\n  "generatedBy": "%s: stl()",\n', R.version.string))
cat(sprintf('  "electricity": { "call": "stl(ts(taylor hourly[1:336], frequency = 24), s.window = 7)", "seasonal": [%s], "trend": [%s] },\n', v(s1$time.series[, "seasonal"]), v(s1$time.series[, "trend"])))
cat(sprintf('  "atlanta": { "call": "stl(ts(atl[1:504], frequency = 168), s.window = \\"periodic\\")", "seasonal": [%s], "trend": [%s] }\n}\n', v(s2$time.series[, "seasonal"]), v(s2$time.series[, "trend"])))
