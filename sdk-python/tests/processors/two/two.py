"""A module with two processor factories: the manifest's `processor` param picks one."""


class Named:
    def __init__(self, name, config):
        self.name, self.config = name, dict(config)

    def process_tick(self, tick, history):
        return None

    def get_required_history_length(self):
        return 1

    def supports_instrument(self, token):
        return True

    def get_strategy_name(self):
        return self.name


def create_alpha_processor(config):
    return Named("alpha", config)


def create_beta_processor(config):
    return Named("beta", config)
