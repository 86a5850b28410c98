"""scikit-learn: a Pipeline with StandardScaler and a grid search over activation ids (skorch)."""

import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from nsad_lib.data import datasets
from nsad_lib.integrations.skorch import classifier

forest = datasets.load("forest", sample=True)  # 5,000 rows shipped with nsad-lib, 54 features
X, y = forest.X[:1500], forest.y[:1500].astype(np.int64)
pipe = make_pipeline(
    StandardScaler(),
    FunctionTransformer(lambda a: a.astype(np.float32)),  # skorch wants float32 inputs
    classifier(n_features=X.shape[1], max_epochs=3),
)
grid = GridSearchCV(pipe, {"neuralnetclassifier__module__activation": ["relu", "higgs-v1:trainable"]}, cv=2)
grid.fit(X, y)
print(grid.best_params_, round(grid.best_score_, 3))
