/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfio_dmatest's sysfs files on each platform device (included by vfio_dmatest.c, once, where
 * they are used; not a header of its own): dmatest_stats (every counter, what the workload
 * reads before and after a run), delay_us and fault_k (the knobs the ioctl also sets), reset.
 */
/* sysfs on the platform device; the groups exist only while the device is bound (drvdata set) */
static ssize_t dmatest_stats_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct dt_dev *d = dev_get_drvdata(dev);
	int i, len = 0;

	for (i = 0; i < DT_NR_COUNTERS; i++)
		len += sysfs_emit_at(buf, len, "%s %llu\n", dt_counter_names[i],
				     (unsigned long long)atomic64_read(&d->ctr[i]));
	len += sysfs_emit_at(buf, len, "delay_us %d\n", atomic_read(&d->delay_us));
	len += sysfs_emit_at(buf, len, "fault_k %d\n", atomic_read(&d->fault_k));
	return len;
}
static DEVICE_ATTR_RO(dmatest_stats);

static ssize_t delay_us_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct dt_dev *d = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%d\n", atomic_read(&d->delay_us));
}

static ssize_t delay_us_store(struct device *dev, struct device_attribute *attr, const char *buf,
			      size_t count)
{
	struct dt_dev *d = dev_get_drvdata(dev);
	u32 v;

	if (kstrtou32(buf, 0, &v) || v > DT_DELAY_MAX_US)
		return -EINVAL;
	atomic_set(&d->delay_us, v);
	return count;
}
static DEVICE_ATTR_RW(delay_us);

static ssize_t fault_k_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct dt_dev *d = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%d\n", atomic_read(&d->fault_k));
}

static ssize_t fault_k_store(struct device *dev, struct device_attribute *attr, const char *buf,
			     size_t count)
{
	struct dt_dev *d = dev_get_drvdata(dev);
	u32 v;

	if (kstrtou32(buf, 0, &v) || v > DMATEST_FAULT_MAX)
		return -EINVAL;
	atomic_set(&d->fault_k, v);
	return count;
}
static DEVICE_ATTR_RW(fault_k);

static ssize_t reset_store(struct device *dev, struct device_attribute *attr, const char *buf,
			   size_t count)
{
	struct dt_dev *d = dev_get_drvdata(dev);
	bool v;

	if (kstrtobool(buf, &v) || !v)
		return -EINVAL;
	dt_reset(d);
	return count;
}
static DEVICE_ATTR_WO(reset);

static struct attribute *dt_attrs[] = {
	&dev_attr_dmatest_stats.attr,
	&dev_attr_delay_us.attr,
	&dev_attr_fault_k.attr,
	&dev_attr_reset.attr,
	NULL,
};
ATTRIBUTE_GROUPS(dt);
